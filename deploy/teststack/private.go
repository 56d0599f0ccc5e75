package teststack

// Private servers for fault tests: a PostgreSQL cluster or a ClickHouse
// server of the test's own, on free loopback ports, that the test may stop,
// start and restart without disturbing the shared stack other tests use.
//
// Instances live under $TMPDIR/scriptstats-private/<kind>-<random>/ with a
// file "owner" holding the test process id. When a test process dies before
// its cleanup ran (a timeout panic, SIGKILL), the next PrivatePostgres or
// PrivateClickHouse stops what it left running and deletes it.

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

const privateReadyTimeout = 60 * time.Second

// privateRoot is the directory holding every private instance. It is
// world-readable so that the postgres OS user can reach a cluster in it.
func privateRoot(t testing.TB) string {
	t.Helper()
	root := filepath.Join(os.TempDir(), "scriptstats-private")
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatalf("teststack: %v", err)
	}
	_ = os.Chmod(root, 0o755)
	return root
}

// newInstanceDir creates <root>/<kind>-<random> with an owner file, after
// sweeping instances whose owner process is gone.
func newInstanceDir(t testing.TB, kind string) string {
	t.Helper()
	root := privateRoot(t)
	sweepStale(root)
	dir, err := os.MkdirTemp(root, kind+"-")
	if err != nil {
		t.Fatalf("teststack: %v", err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "owner"), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

var sweepOnce sync.Once

// sweepStale stops and deletes instances whose owner process has died.
func sweepStale(root string) {
	sweepOnce.Do(func() {
		entries, _ := os.ReadDir(root)
		for _, e := range entries {
			dir := filepath.Join(root, e.Name())
			b, err := os.ReadFile(filepath.Join(dir, "owner"))
			if err != nil {
				continue
			}
			pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
			if err != nil || processAlive(pid) {
				continue
			}
			switch {
			case strings.HasPrefix(e.Name(), "pg-"):
				if bindir := postgresBinDir(); bindir != "" {
					if _, err := os.Stat(filepath.Join(dir, "data", "postmaster.pid")); err == nil {
						_ = runAsPostgres(filepath.Join(bindir, "pg_ctl"), "-D", filepath.Join(dir, "data"), "-m", "immediate", "-w", "stop").Run()
					}
				}
			case strings.HasPrefix(e.Name(), "ch-"):
				if b, err := os.ReadFile(filepath.Join(dir, "chserver.pid")); err == nil {
					if p, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && isChserver(p) {
						_ = syscall.Kill(p, syscall.SIGKILL)
					}
				}
			}
			_ = os.RemoveAll(dir)
		}
	})
}

func processAlive(pid int) bool {
	return pid > 0 && syscall.Kill(pid, 0) == nil
}

func isChserver(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return err == nil && bytes.Contains(b, []byte("chserver"))
}

// FreePort returns a TCP port on 127.0.0.1 that nothing listens on now.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("teststack: free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// skipOrFail skips the test, or fails it when CI=true.
func skipOrFail(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("teststack: "+format, args...)
	}
	t.Skipf("teststack: "+format, args...)
}

// ---------------------------------------------------------------- PostgreSQL

// PostgresOptions configure PrivatePostgres.
type PostgresOptions struct {
	// TLS, when set, turns ssl on with a server certificate signed by this
	// CA for ServerNames, and allows only TLS connections (hostssl).
	TLS *CA
	// ServerNames are the names the server certificate is valid for
	// (default: localhost and 127.0.0.1).
	ServerNames []string
	// ListenAlso are more loopback addresses to listen on (e.g. 127.0.0.2,
	// to connect under a name the certificate does not hold).
	ListenAlso []string
	// Encoding of the cluster (default UTF8).
	Encoding string
	// Settings are more postgresql.conf lines (e.g.
	// "max_prepared_transactions = 10").
	Settings []string
}

// PostgresServer is a private PostgreSQL cluster. The superuser is
// "postgres" with Password; TCP connections need the password.
type PostgresServer struct {
	Host     string
	Port     int
	Password string

	t      testing.TB
	dir    string
	data   string
	bindir string
	opts   PostgresOptions
	mu     sync.Mutex
}

// PrivatePostgres initializes and starts a PostgreSQL cluster of the test's
// own on a free port; it is stopped and deleted when the test ends. It
// needs the PostgreSQL server binaries (installed by deploy/local/stack.sh).
func PrivatePostgres(t testing.TB, opts ...PostgresOptions) *PostgresServer {
	t.Helper()
	var o PostgresOptions
	if len(opts) > 0 {
		o = opts[0]
	}
	if len(o.ServerNames) == 0 {
		o.ServerNames = []string{"localhost", "127.0.0.1"}
	}
	if o.Encoding == "" {
		o.Encoding = "UTF8"
	}
	bindir := postgresBinDir()
	if bindir == "" {
		skipOrFail(t, "no PostgreSQL server binaries (/usr/lib/postgresql/*/bin/initdb); run deploy/local/stack.sh up")
	}
	if os.Geteuid() == 0 {
		if _, err := exec.LookPath("runuser"); err != nil {
			if _, err2 := os.Stat("/usr/sbin/runuser"); err2 != nil {
				skipOrFail(t, "running as root needs runuser to start PostgreSQL as the postgres user")
			}
		}
	}
	s := &PostgresServer{
		Host: "127.0.0.1", t: t, bindir: bindir, opts: o,
		dir:      newInstanceDir(t, "pg"),
		Password: "pw-" + randomHex(t, 8),
	}
	s.data = filepath.Join(s.dir, "data")
	t.Cleanup(func() {
		s.stop("immediate")
		_ = os.RemoveAll(s.dir)
	})
	pwfile := filepath.Join(s.dir, "pwfile")
	if err := os.WriteFile(pwfile, []byte(s.Password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	chownPostgres(t, s.dir)
	out, err := runAsPostgres(filepath.Join(bindir, "initdb"), "-D", s.data, "-U", "postgres",
		"--pwfile="+pwfile, "--auth-host=scram-sha-256", "--auth-local=trust",
		"--encoding="+o.Encoding, "--no-locale", "--no-instructions", "--no-sync").CombinedOutput()
	_ = os.Remove(pwfile)
	if err != nil {
		t.Fatalf("teststack: initdb: %v\n%s", err, out)
	}
	if o.TLS != nil {
		cert, key := o.TLS.Issue(t, o.ServerNames...)
		for name, b := range map[string][]byte{"server.crt": cert, "server.key": key, "ca.crt": o.TLS.CertPEM()} {
			if err := os.WriteFile(filepath.Join(s.data, name), b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		chownPostgres(t, s.data)
	}
	// A port is free when picked, but another process may take it before
	// the server binds it: try a few.
	for attempt := 1; ; attempt++ {
		s.Port = FreePort(t)
		s.writeConf(t)
		if err := s.start(); err == nil {
			break
		} else if attempt == 3 {
			t.Fatalf("teststack: start private PostgreSQL: %v", err)
		}
	}
	return s
}

func (s *PostgresServer) writeConf(t testing.TB) {
	t.Helper()
	listen := append([]string{"127.0.0.1"}, s.opts.ListenAlso...)
	conf := fmt.Sprintf(`
# scriptstats private test cluster
listen_addresses = '%s'
port = %d
unix_socket_directories = ''
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 60
shared_buffers = 32MB
timezone = 'UTC'
log_min_messages = warning
`, strings.Join(listen, ","), s.Port)
	conf += strings.Join(s.opts.Settings, "\n") + "\n"
	hba := "local all all trust\n"
	kind := "host"
	if s.opts.TLS != nil {
		conf += "ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\nssl_ca_file = 'ca.crt'\n"
		kind = "hostssl"
	}
	for _, a := range listen {
		hba += fmt.Sprintf("%s all all %s/32 scram-sha-256\n", kind, a)
		hba += fmt.Sprintf("%s replication all %s/32 scram-sha-256\n", kind, a)
	}
	if err := os.WriteFile(filepath.Join(s.data, "scriptstats-private.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	main := filepath.Join(s.data, "postgresql.conf")
	b, err := os.ReadFile(main)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte("scriptstats-private.conf")) {
		b = append(b, "\ninclude 'scriptstats-private.conf'\n"...)
		if err := os.WriteFile(main, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(s.data, "pg_hba.conf"), []byte(hba), 0o600); err != nil {
		t.Fatal(err)
	}
	chownPostgres(t, s.data)
}

// DSN returns a superuser URL for database db ("" means postgres). With
// TLS it asks for sslmode=verify-full against the test CA and host
// localhost; otherwise sslmode=disable on 127.0.0.1.
func (s *PostgresServer) DSN(db string) string {
	if db == "" {
		db = "postgres"
	}
	return s.UserDSN("postgres", s.Password, db)
}

// UserDSN is DSN for another role.
func (s *PostgresServer) UserDSN(user, password, db string) string {
	u := url.URL{Scheme: "postgres", User: url.UserPassword(user, password), Path: "/" + db}
	if s.opts.TLS != nil {
		u.Host = net.JoinHostPort("localhost", strconv.Itoa(s.Port))
		u.RawQuery = url.Values{"sslmode": {"verify-full"}, "sslrootcert": {s.opts.TLS.CertFile()}}.Encode()
	} else {
		u.Host = net.JoinHostPort(s.Host, strconv.Itoa(s.Port))
		u.RawQuery = "sslmode=disable"
	}
	return u.String()
}

// CreateDatabase creates a database (dropped with the cluster) and returns
// its superuser DSN. extra is appended to CREATE DATABASE (e.g. ENCODING).
func (s *PostgresServer) CreateDatabase(t testing.TB, name, extra string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.DSN(""))
	if err != nil {
		t.Fatalf("teststack: connect to private PostgreSQL: %v", err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()+" "+extra); err != nil {
		t.Fatalf("teststack: create database %s: %v", name, err)
	}
	return s.DSN(name)
}

// Stop stops the server (fast shutdown: sessions are terminated).
func (s *PostgresServer) Stop() { s.stop("fast") }

// Kill stops the server the way a crash does (immediate shutdown).
func (s *PostgresServer) Kill() { s.stop("immediate") }

// Start starts the stopped server on the same port.
func (s *PostgresServer) Start() {
	s.t.Helper()
	if err := s.start(); err != nil {
		s.t.Fatalf("teststack: start private PostgreSQL: %v", err)
	}
}

// Restart stops (fast) and starts the server.
func (s *PostgresServer) Restart() {
	s.t.Helper()
	s.Stop()
	s.Start()
}

func (s *PostgresServer) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	logFile := filepath.Join(s.dir, "postgres.log")
	out, err := runAsPostgres(filepath.Join(s.bindir, "pg_ctl"), "-D", s.data, "-l", logFile,
		"-w", "-t", strconv.Itoa(int(privateReadyTimeout.Seconds())), "start").CombinedOutput()
	if err != nil {
		log, _ := os.ReadFile(logFile)
		return fmt.Errorf("pg_ctl start: %v\n%s\n%s", err, out, lastLines(log, 15))
	}
	return nil
}

func (s *PostgresServer) stop(mode string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := os.Stat(filepath.Join(s.data, "postmaster.pid")); err != nil {
		return
	}
	out, err := runAsPostgres(filepath.Join(s.bindir, "pg_ctl"), "-D", s.data, "-m", mode, "-w", "-t", "60", "stop").CombinedOutput()
	if err != nil && !bytes.Contains(out, []byte("not running")) && !bytes.Contains(out, []byte("does not exist")) {
		s.t.Logf("teststack: pg_ctl stop: %v\n%s", err, out)
	}
}

// postgresBinDir returns the newest /usr/lib/postgresql/*/bin with initdb.
func postgresBinDir() string {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	sort.Slice(dirs, func(i, j int) bool {
		vi, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(dirs[i]))))
		vj, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(dirs[j]))))
		return vi < vj
	})
	if len(dirs) == 0 {
		return ""
	}
	return filepath.Dir(dirs[len(dirs)-1])
}

// PostgresBinDir is the directory of the PostgreSQL server programs
// (pg_dump, psql, …), or "" when none is installed.
func PostgresBinDir() string { return postgresBinDir() }

// runAsPostgres runs a PostgreSQL server program, as the postgres OS user
// when we are root (initdb and pg_ctl refuse to run as root).
func runAsPostgres(name string, args ...string) *exec.Cmd {
	var cmd *exec.Cmd
	if os.Geteuid() == 0 {
		runuser := "runuser"
		if _, err := exec.LookPath(runuser); err != nil {
			runuser = "/usr/sbin/runuser"
		}
		cmd = exec.Command(runuser, append([]string{"-u", "postgres", "--", name}, args...)...)
	} else {
		cmd = exec.Command(name, args...)
	}
	cmd.Dir = "/"
	// The server must not belong to the test's process group (a ^C to the
	// test would stop it before the cleanup does).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return cmd
}

func chownPostgres(t testing.TB, dir string) {
	t.Helper()
	if os.Geteuid() != 0 {
		return
	}
	out, err := exec.Command("chown", "-R", "postgres:postgres", dir).CombinedOutput()
	if err != nil {
		t.Fatalf("teststack: chown postgres %s: %v %s", dir, err, out)
	}
}

// ---------------------------------------------------------------- ClickHouse

// ClickHouseOptions configure PrivateClickHouse.
type ClickHouseOptions struct {
	// ConfigFile is the server config (default: the local stack's
	// deploy/local/clickhouse-config.xml, whose users are those of
	// deploy/local/clickhouse-users.xml).
	ConfigFile string
	// TCPPort and HTTPPort, when set, are the ports (a cluster's config
	// names them before its servers start); 0 picks free ones.
	TCPPort, HTTPPort int
}

// ClickHouseServer is a private ClickHouse server (deploy/chserver) with
// its own data directory; data survives Stop and Start.
type ClickHouseServer struct {
	TCPPort  int
	HTTPPort int

	t      testing.TB
	dir    string
	path   string
	config string
	bin    string
	lib    string
	mu     sync.Mutex
	cmd    *exec.Cmd
	done   chan struct{}
}

// PrivateClickHouse starts a ClickHouse server of the test's own on free
// ports; it is stopped and deleted when the test ends. It needs the local
// stack's chDB library and chserver build (deploy/local/stack.sh up).
func PrivateClickHouse(t testing.TB, opts ...ClickHouseOptions) *ClickHouseServer {
	t.Helper()
	var o ClickHouseOptions
	if len(opts) > 0 {
		o = opts[0]
	}
	root, err := RepoRoot()
	if err != nil {
		skipOrFail(t, "%v", err)
	}
	s := &ClickHouseServer{t: t, config: o.ConfigFile}
	if s.config == "" {
		s.config = filepath.Join(root, "deploy", "local", "clickhouse-config.xml")
	}
	s.lib = os.Getenv("CHDB_LIB")
	if s.lib == "" {
		s.lib = filepath.Join(root, ".local", "chdb", "node_modules", "@chdb", "lib-linux-x64-gnu", "libchdb.so")
	}
	if _, err := os.Stat(s.lib); err != nil {
		skipOrFail(t, "no chDB library at %s; run deploy/local/stack.sh up", s.lib)
	}
	s.bin = filepath.Join(root, ".local", "bin", "chserver")
	if _, err := os.Stat(s.bin); err != nil {
		skipOrFail(t, "no chserver at %s; run deploy/local/stack.sh up", s.bin)
	}
	s.dir = newInstanceDir(t, "ch")
	s.path = filepath.Join(s.dir, "data")
	t.Cleanup(func() {
		s.Kill()
		_ = os.RemoveAll(s.dir)
	})
	for attempt := 1; ; attempt++ {
		s.TCPPort, s.HTTPPort = o.TCPPort, o.HTTPPort
		if s.TCPPort == 0 {
			s.TCPPort, s.HTTPPort = FreePort(t), FreePort(t)
		}
		if s.TCPPort == s.HTTPPort {
			continue
		}
		err := s.start()
		if err == nil {
			break
		}
		if attempt == 3 {
			t.Fatalf("teststack: start private ClickHouse: %v", err)
		}
	}
	return s
}

// DSN returns clickhouse://user:password@127.0.0.1:port/db.
func (s *ClickHouseServer) DSN(user, password, db string) string {
	u := url.URL{Scheme: "clickhouse", User: url.UserPassword(user, password),
		Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(s.TCPPort)), Path: "/" + db}
	return u.String()
}

// AdminDSN is the DSN of the default user (full rights) on database default.
func (s *ClickHouseServer) AdminDSN() string { return s.DSN("default", "", "default") }

// Start starts the stopped server on the same ports and data.
func (s *ClickHouseServer) Start() {
	s.t.Helper()
	var err error
	// The ports were ours a moment ago; a socket of the old process may
	// linger briefly.
	for i := 0; i < 20; i++ {
		if err = s.start(); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.t.Fatalf("teststack: start private ClickHouse: %v", err)
}

// Stop stops the server (SIGTERM; SIGKILL after 10 s) and waits until it
// is gone.
func (s *ClickHouseServer) Stop() { s.signal(syscall.SIGTERM, 10*time.Second) }

// Kill kills the server with SIGKILL and waits until it is gone.
func (s *ClickHouseServer) Kill() { s.signal(syscall.SIGKILL, 0) }

// Restart kills the server and starts it again (data survives).
func (s *ClickHouseServer) Restart() {
	s.t.Helper()
	s.Kill()
	s.Start()
}

// Running reports whether the server process is up.
func (s *ClickHouseServer) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return false
	}
	select {
	case <-s.done:
		return false
	default:
		return true
	}
}

// Revive starts the server again when its process ended by itself (the
// chDB engine aborts on some client errors, e.g. a connection reset by a
// killed client); it reports whether it had to.
func (s *ClickHouseServer) Revive() bool {
	s.t.Helper()
	s.mu.Lock()
	crashed := false
	if s.cmd != nil {
		select {
		case <-s.done:
			crashed = true
			s.cmd, s.done = nil, nil
		default:
		}
	}
	s.mu.Unlock()
	if crashed {
		s.t.Logf("teststack: private ClickHouse on port %d had ended; starting it again", s.TCPPort)
		s.Start()
	}
	return crashed
}

func (s *ClickHouseServer) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return errors.New("already running")
	}
	outFile := filepath.Join(s.dir, "chserver.out")
	out, err := os.Create(outFile)
	if err != nil {
		return err
	}
	defer out.Close()
	cmd := exec.Command(s.bin,
		"--lib="+s.lib,
		"--path="+s.path,
		"--tcp-port="+strconv.Itoa(s.TCPPort),
		"--http-port="+strconv.Itoa(s.HTTPPort),
		"--config-file="+s.config,
		"--pid-file="+filepath.Join(s.dir, "chserver.pid"),
		"--log-file="+filepath.Join(s.dir, "clickhouse.log"),
		"--log-level=warning",
		"--ready-timeout="+privateReadyTimeout.String(),
	)
	cmd.Dir = s.dir
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	deadline := time.Now().Add(privateReadyTimeout)
	for {
		b, _ := os.ReadFile(outFile)
		if bytes.Contains(b, []byte("clickhouse ready on")) {
			s.cmd, s.done = cmd, done
			return nil
		}
		select {
		case <-done:
			return fmt.Errorf("chserver exited: %s", lastLines(b, 10))
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-done
			return fmt.Errorf("chserver not ready after %s: %s", privateReadyTimeout, lastLines(b, 10))
		}
	}
}

func (s *ClickHouseServer) signal(sig syscall.Signal, grace time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(sig)
	select {
	case <-s.done:
	case <-time.After(grace):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	s.cmd, s.done = nil, nil
}

// RepoRoot returns the directory of the scriptstats go.mod, found from the
// working directory upwards (tests run in their package's directory).
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.Contains(b, []byte("module github.com/scriptstats/scriptstats\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("the scriptstats repository root (go.mod) is not above the working directory")
		}
		dir = parent
	}
}

// GoTool returns the go command: go on PATH, else $GOROOT/bin/go (go test
// sets GOROOT for the tests it runs), else /usr/local/go/bin/go.
func GoTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	if root := os.Getenv("GOROOT"); root != "" {
		return filepath.Join(root, "bin", "go")
	}
	return "/usr/local/go/bin/go"
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func randomHex(t testing.TB, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", b)
}
