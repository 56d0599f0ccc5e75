package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// validDSNs parse but are never dialled by these tests.
var validDSNs = []string{"--pg-dsn", "postgres://job@127.0.0.1:1/src", "--clickhouse-dsn", "clickhouse://loader@127.0.0.1:1/stats"}

// usageLine runs the command in-process and wants exit 2 with one line
// containing each of want.
func usageLine(t *testing.T, args []string, want ...string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	lines := strings.Split(strings.TrimSpace(errb.String()), "\n")
	if code != exitUsage || len(lines) != 1 {
		t.Fatalf("%q: exit %d, stderr %q; want exit 2 and one line", args, code, errb.String())
	}
	for _, w := range want {
		if !strings.Contains(lines[0], w) {
			t.Errorf("%q: %q does not say %q", args, lines[0], w)
		}
	}
}

// validates parses args for cmd as the command would and validates them.
func validates(t *testing.T, cmd string, args ...string) error {
	t.Helper()
	var o jobOptions
	f := newFlagSet(cmd)
	o.register(f)
	if err := f.Parse(append(append([]string{}, validDSNs...), args...)); err != nil {
		t.Fatal(err)
	}
	if len(f.envErrs) > 0 {
		return f.envErrs[0]
	}
	return o.Validate()
}

// TestErrorBytesBounds: 0 used to store every error as the cut marker
// alone; values below 64 or above 16 MiB are refused with one line, exit 2.
func TestErrorBytesBounds(t *testing.T) {
	for _, v := range []string{"0", "-1", "63", "16777217"} {
		for _, cmd := range []string{"run", "backfill", "verify"} {
			args := append([]string{cmd}, validDSNs...)
			args = append(args, "--error-bytes", v, "--from", "2026-01-01", "--to", "2026-01-02")
			if cmd == "run" {
				args = args[:len(args)-4]
			}
			usageLine(t, args, "--error-bytes "+v, "between 64 and 16777216")
		}
		t.Setenv("SCRIPTSTATS_ERROR_BYTES", v)
		usageLine(t, append([]string{"run"}, validDSNs...), "--error-bytes "+v)
		t.Setenv("SCRIPTSTATS_ERROR_BYTES", "4096")
	}
	for _, v := range []string{"64", "4096", "16777216"} {
		if err := validates(t, "run", "--error-bytes", v); err != nil {
			t.Errorf("--error-bytes %s refused: %v", v, err)
		}
	}
}

// TestTrailingRange: the N days before today in the zone, and today, with
// days written by hand.
func TestTrailingRange(t *testing.T) {
	kiritimati, err := time.LoadLocation("Pacific/Kiritimati") // +14
	if err != nil {
		t.Fatal(err)
	}
	santiago, err := time.LoadLocation("America/Santiago")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		now      string
		loc      *time.Location
		n        int
		from, to string
	}{
		{"2026-11-27T11:00:00Z", time.UTC, 7, "2026-11-20", "2026-11-27"},
		{"2026-11-27T11:00:00Z", kiritimati, 7, "2026-11-21", "2026-11-28"}, // 01:00 on the 28th there
		{"2024-09-08T03:30:00Z", santiago, 1, "2024-09-06", "2024-09-07"},   // 23:30 -04 on the 7th
		{"2024-03-01T00:00:00Z", time.UTC, 1, "2024-02-29", "2024-03-01"},
	} {
		now, _ := time.Parse(time.RFC3339, c.now)
		from, to := trailingRange(now, c.loc, c.n)
		if from.String() != c.from || to.String() != c.to {
			t.Errorf("%s in %s, %d days: %s..%s, want %s..%s", c.now, c.loc, c.n, from, to, c.from, c.to)
		}
	}
}

// TestTrailingDaysUsage: --trailing-days is exclusive with --from/--to,
// must be positive, and an unexpanded $(VAR) from a manifest is refused.
func TestTrailingDaysUsage(t *testing.T) {
	base := append([]string{"backfill"}, validDSNs...)
	usageLine(t, append(base, "--trailing-days", "7", "--from", "2026-01-01"), "--trailing-days replaces --from and --to")
	usageLine(t, append(base, "--trailing-days", "-1"), "--trailing-days -1")
	usageLine(t, append(base, "--trailing-days", "$(SCRIPTSTATS_BACKFILL_DAYS)"), "trailing-days", "not a whole number")
	usageLine(t, base, "--from and --to (or --trailing-days) are required")
}

// TestHelpPointsToExistingDocs: every docs/*.md the usage and the --help
// of each command name exists, and so does a section named after it
// (docs/x.md, "Section").
func TestHelpPointsToExistingDocs(t *testing.T) {
	ref := regexp.MustCompile(`docs/[A-Za-z0-9_.-]+\.md(?:, "([^"]+)")?`)
	var help strings.Builder
	for _, cmd := range []string{"", "migrate", "run", "backfill", "schedule", "verify", "compare"} {
		args := []string{"--help"}
		if cmd != "" {
			args = []string{cmd, "--help"}
		}
		var out, errb bytes.Buffer
		run(context.Background(), args, &out, &errb)
		help.WriteString(out.String() + errb.String())
	}
	refs := ref.FindAllStringSubmatch(help.String(), -1)
	if len(refs) == 0 {
		t.Fatal("no docs/ reference found in any --help: the test checks nothing")
	}
	for _, m := range refs {
		path := strings.SplitN(m[0], ",", 2)[0]
		data, err := os.ReadFile(filepath.Join("..", "..", path))
		if err != nil {
			t.Errorf("--help points to %s: %v", path, err)
			continue
		}
		if m[1] != "" && !regexp.MustCompile(`(?m)^#+ `+regexp.QuoteMeta(m[1])+`\s*$`).Match(data) {
			t.Errorf("--help points to section %q of %s, which has no such heading", m[1], path)
		}
	}
}

// TestCompareFlagsAfterRunIDs: the options are checked once every flag is
// read, wherever it stands (compare 1 2 --clickhouse-dsn … once said the
// DSN was missing, unless the environment had one).
func TestCompareFlagsAfterRunIDs(t *testing.T) {
	t.Setenv("SCRIPTSTATS_CLICKHOUSE_DSN", "")
	var out, errb bytes.Buffer
	// The DSN points at a closed port: the command gets as far as dialling.
	code := run(context.Background(), []string{"compare", "1", "2", "--clickhouse-dsn", "clickhouse://loader@127.0.0.1:1/stats", "--json"}, &out, &errb)
	if code == exitUsage || !strings.Contains(errb.String(), "127.0.0.1:1") {
		t.Fatalf("compare 1 2 --clickhouse-dsn …: exit %d, %q; want it to dial the DSN given after the ids", code, errb.String())
	}
	usageLine(t, []string{"compare", "1", "2"}, "--clickhouse-dsn or SCRIPTSTATS_CLICKHOUSE_DSN is required")
	usageLine(t, []string{"compare", "1", "--clickhouse-dsn", "clickhouse://loader@127.0.0.1:1/stats"}, "two run ids, got 1")
}

// TestTimezoneNames: "Local" (Go's name for the machine's zone) is no
// IANA zone and is refused; an empty value is the default, UTC.
func TestTimezoneNames(t *testing.T) {
	usageLine(t, append([]string{"run", "--timezone", "Local"}, validDSNs...), `--timezone "Local" is not an IANA time zone`)
	for _, z := range []string{"", "UTC", "Etc/GMT+5", "America/St_Johns"} {
		if err := validates(t, "run", "--timezone", z); err != nil {
			t.Errorf("--timezone %q: %v", z, err)
		}
	}
	var o jobOptions
	f := newFlagSet("run")
	o.register(f)
	if err := f.Parse(append(append([]string{}, validDSNs...), "--timezone", "")); err != nil || o.Validate() != nil || o.Timezone != "UTC" {
		t.Errorf("--timezone \"\": zone %q, want UTC", o.Timezone)
	}
}
