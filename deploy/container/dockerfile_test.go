package container

import (
	"bufio"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const repo = "../.."

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	line int
	cmd  string // upper case
	args string
}

func parseDockerfile(t *testing.T) []instruction {
	t.Helper()
	f, err := os.Open(filepath.Join(repo, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []instruction
	var cur strings.Builder
	start := 0
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if cur.Len() == 0 && (line == "" || strings.HasPrefix(line, "#")) {
			continue
		}
		if cur.Len() > 0 && strings.HasPrefix(line, "#") {
			continue // comment inside a continued instruction
		}
		if cur.Len() == 0 {
			start = n
		}
		if rest, ok := strings.CutSuffix(line, `\`); ok {
			cur.WriteString(rest + " ")
			continue
		}
		cur.WriteString(line)
		cmd, args, _ := strings.Cut(cur.String(), " ")
		out = append(out, instruction{line: start, cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args)})
		cur.Reset()
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if cur.Len() > 0 {
		t.Fatal("Dockerfile ends inside a continued line")
	}
	return out
}

// stages splits the instructions at FROM; the global ARGs come first.
func stages(ins []instruction) (global []instruction, st [][]instruction) {
	for _, in := range ins {
		if in.cmd == "FROM" {
			st = append(st, []instruction{in})
			continue
		}
		if len(st) == 0 {
			global = append(global, in)
		} else {
			st[len(st)-1] = append(st[len(st)-1], in)
		}
	}
	return global, st
}

// flagsAndWords splits "--from=x a b c" into flags and words.
func flagsAndWords(args string) (flags map[string]string, words []string) {
	flags = map[string]string{}
	for _, w := range strings.Fields(args) {
		if strings.HasPrefix(w, "--") {
			k, v, _ := strings.Cut(strings.TrimPrefix(w, "--"), "=")
			flags[k] = v
			continue
		}
		words = append(words, w)
	}
	return flags, words
}

func TestDockerfile(t *testing.T) {
	ins := parseDockerfile(t)
	global, st := stages(ins)
	if len(st) < 2 {
		t.Fatalf("want a multi-stage build (builder + final), got %d stage(s)", len(st))
	}
	argDefaults := map[string]string{}
	for _, in := range global {
		if in.cmd == "ARG" {
			k, v, _ := strings.Cut(in.args, "=")
			argDefaults[k] = v
		}
	}

	// The builder: a golang image at least as new as go.mod's go directive.
	_, builderFrom := flagsAndWords(st[0][0].args)
	image := os.Expand(builderFrom[0], func(k string) string { return argDefaults[k] })
	if !strings.HasPrefix(image, "golang:") {
		t.Fatalf("builder stage FROM %q: want a golang image", builderFrom[0])
	}
	tag := strings.TrimPrefix(image, "golang:")
	goVersion, _, _ := strings.Cut(tag, "-")
	if want := goDirective(t); compareVersions(goVersion, want) < 0 {
		t.Errorf("builder golang:%s is older than go.mod's go %s", goVersion, want)
	}

	// The go build: static, trimmed, stripped, versioned, of ./cmd/scriptstats.
	var build string
	for _, in := range st[0] {
		if in.cmd == "RUN" && strings.Contains(in.args, "go build") {
			build = in.args
		}
	}
	if build == "" {
		t.Fatal("builder stage has no RUN ... go build")
	}
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "-s -w", "-X main.version=", "./cmd/scriptstats"} {
		if !strings.Contains(build, want) {
			t.Errorf("go build line lacks %q: %s", want, build)
		}
	}

	// Every COPY from the context names something that exists and is not
	// excluded by .dockerignore.
	ignore := dockerignore(t)
	for _, stage := range st {
		for _, in := range stage {
			if in.cmd != "COPY" && in.cmd != "ADD" {
				continue
			}
			flags, words := flagsAndWords(in.args)
			if _, ok := flags["from"]; ok {
				continue
			}
			if len(words) < 2 {
				t.Errorf("line %d: %s needs a source and a destination", in.line, in.cmd)
				continue
			}
			for _, src := range words[:len(words)-1] {
				matches, err := filepath.Glob(filepath.Join(repo, src))
				if err != nil || len(matches) == 0 {
					t.Errorf("line %d: COPY source %q does not exist in the repository", in.line, src)
				}
				if src != "." && ignored(ignore, src) {
					t.Errorf("line %d: COPY source %q is excluded by .dockerignore", in.line, src)
				}
			}
		}
	}

	// The final stage: distroless/static or scratch, a non-root USER, the
	// binary copied from the builder, an entrypoint.
	final := st[len(st)-1]
	_, finalFrom := flagsAndWords(final[0].args)
	if img := finalFrom[0]; img != "scratch" && !strings.HasPrefix(img, "gcr.io/distroless/static") {
		t.Errorf("final stage FROM %q: want gcr.io/distroless/static* or scratch", img)
	} else if img == "scratch" {
		t.Error("final stage is scratch: copy CA certificates and /etc/passwd into it, or use distroless/static")
	}
	var user, entrypoint string
	copiesBinary := false
	for _, in := range final {
		switch in.cmd {
		case "USER":
			user = in.args
		case "ENTRYPOINT":
			entrypoint = in.args
		case "COPY":
			flags, words := flagsAndWords(in.args)
			if flags["from"] != "" && slices.ContainsFunc(words, func(w string) bool { return strings.HasSuffix(w, "scriptstats") }) {
				copiesBinary = true
			}
		}
	}
	if !nonRootUser(user) {
		t.Errorf("final stage USER %q: want a non-root user (e.g. 65532:65532)", user)
	}
	if !copiesBinary {
		t.Error("final stage does not COPY --from the builder's scriptstats binary")
	}
	if !strings.Contains(entrypoint, "scriptstats") {
		t.Errorf("final stage ENTRYPOINT %q does not run scriptstats", entrypoint)
	}
}

func nonRootUser(u string) bool {
	name, _, _ := strings.Cut(u, ":")
	if name == "" || name == "root" {
		return false
	}
	if n, err := strconv.Atoi(name); err == nil {
		return n > 0
	}
	return true
}

func TestDockerignore(t *testing.T) {
	pats := dockerignore(t)
	for _, p := range []string{".local", ".local/ch/data/x", "bin", "bin/scriptstats", ".git"} {
		if !ignored(pats, p) {
			t.Errorf(".dockerignore does not exclude %s", p)
		}
	}
	for _, p := range []string{"go.mod", "go.sum", "cmd/scriptstats/main.go", "sql/clickhouse/migrations/0001_tables.sql", "sql/embed.go"} {
		if ignored(pats, p) {
			t.Errorf(".dockerignore excludes %s, which the build needs", p)
		}
	}
}

// TestStaticBuild builds ./cmd/scriptstats the way the Dockerfile does
// (CGO_ENABLED=0, -trimpath, -ldflags -s -w -X main.version) and runs the
// binary's version command.
func TestStaticBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	if _, err := os.Stat(filepath.Join(repo, "cmd", "scriptstats", "main.go")); err != nil {
		t.Fatalf("the Dockerfile's package ./cmd/scriptstats: %v", err)
	}
	goBin := filepath.Join(os.Getenv("GOROOT"), "bin", "go")
	if os.Getenv("GOROOT") == "" {
		var err error
		if goBin, err = exec.LookPath("go"); err != nil {
			goBin = "/usr/local/go/bin/go"
		}
	}
	out := filepath.Join(t.TempDir(), "scriptstats")
	cmd := exec.Command(goBin, "build", "-trimpath", "-ldflags", "-s -w -X main.version=v9.9.9-test", "-o", out, "./cmd/scriptstats")
	cmd.Dir = repo
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("CGO_ENABLED=0 go build ./cmd/scriptstats: %v\n%s", err, b)
	}
	b, err := exec.Command(out, "version").CombinedOutput()
	if err != nil {
		t.Fatalf("scriptstats version: %v\n%s", err, b)
	}
	if got := strings.TrimSpace(string(b)); got != "scriptstats v9.9.9-test" {
		t.Errorf("scriptstats version printed %q: -X main.version did not take", got)
	}
	// Static: no ELF interpreter (dynamic loader) is requested.
	f, err := elf.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the binary is dynamically linked (it has an ELF interpreter)")
		}
	}
}

func goDirective(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repo, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^go (\S+)`).FindSubmatch(b)
	if m == nil {
		t.Fatal("go.mod has no go directive")
	}
	return string(m[1])
}

func compareVersions(a, b string) int {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < max(len(pa), len(pb)); i++ {
		var x, y int
		if i < len(pa) {
			x, _ = strconv.Atoi(pa[i])
		}
		if i < len(pb) {
			y, _ = strconv.Atoi(pb[i])
		}
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}

// dockerignore reads the patterns (no "!" exceptions are used).
func dockerignore(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repo, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	var pats []string
	for _, l := range strings.Split(string(b), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		if strings.HasPrefix(l, "!") {
			t.Fatalf(".dockerignore: exceptions (%s) are not understood by this test", l)
		}
		pats = append(pats, strings.TrimSuffix(strings.TrimPrefix(l, "/"), "/"))
	}
	return pats
}

// ignored: whether path, or a directory above it, matches a pattern
// (Docker's rules, without "!": filepath.Match per path, "**" any depth).
func ignored(pats []string, path string) bool {
	path = filepath.Clean(path)
	for _, p := range pats {
		for dir := path; dir != "." && dir != "/"; dir = filepath.Dir(dir) {
			if match(p, dir) {
				return true
			}
		}
	}
	return false
}

func match(pattern, path string) bool {
	if rest, ok := strings.CutPrefix(pattern, "**/"); ok {
		parts := strings.Split(path, "/")
		for i := range parts {
			if ok, _ := filepath.Match(rest, strings.Join(parts[i:], "/")); ok {
				return true
			}
		}
		return false
	}
	ok, _ := filepath.Match(pattern, path)
	return ok
}
