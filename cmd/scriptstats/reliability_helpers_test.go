package main

// Helpers of the reliability tests (reliability_test.go, crash_test.go,
// faults_test.go, badinput_test.go, security_test.go): they run the real
// scriptstats binary as a subprocess, so that it can be killed, can exit
// with its own status, and its whole output and memory use can be checked.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/scriptstats/scriptstats/deploy/demodata"
	"github.com/scriptstats/scriptstats/deploy/teststack"
)

// ---------------------------------------------------------------- the binary

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// scriptstatsBin builds the scriptstats binary once per test process. It
// goes to $TMPDIR/scriptstats-testbin-<pid>/ (a t.TempDir would vanish with
// the first test that asked); directories of test processes that are gone
// are deleted first. SCRIPTSTATS_TEST_BIN_RACE=1 builds it with -race.
func scriptstatsBin(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		tmp := os.TempDir()
		old, _ := filepath.Glob(filepath.Join(tmp, "scriptstats-testbin-*"))
		for _, d := range old {
			pid, err := strconv.Atoi(strings.TrimPrefix(filepath.Base(d), "scriptstats-testbin-"))
			if err == nil && pid != os.Getpid() && syscall.Kill(pid, 0) != nil {
				_ = os.RemoveAll(d)
			}
		}
		dir := filepath.Join(tmp, fmt.Sprintf("scriptstats-testbin-%d", os.Getpid()))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			binErr = err
			return
		}
		args := []string{"build", "-o", filepath.Join(dir, "scriptstats")}
		if os.Getenv("SCRIPTSTATS_TEST_BIN_RACE") == "1" {
			args = append(args, "-race")
		}
		cmd := exec.Command(teststack.GoTool(), append(args, ".")...)
		if out, err := cmd.CombinedOutput(); err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
			return
		}
		binPath = filepath.Join(dir, "scriptstats")
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

func raceBinary() bool { return os.Getenv("SCRIPTSTATS_TEST_BIN_RACE") == "1" }

// ---------------------------------------------------------------- processes

// relBuffer is a bytes.Buffer safe for a writer and concurrent readers.
type relBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *relBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *relBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// binResult is how a scriptstats process ended.
type binResult struct {
	args    []string
	code    int  // exit status; -1 when killed by a signal
	killed  bool // ended by SIGKILL
	signal  syscall.Signal
	stdout  string
	stderr  string
	maxRSS  int64 // bytes
	elapsed time.Duration
}

func (r binResult) String() string {
	return fmt.Sprintf("scriptstats %s: exit %d (signal %v) after %s\nstdout:\n%s\nstderr:\n%s",
		strings.Join(redactArgs(r.args), " "), r.code, r.signal, r.elapsed.Round(time.Millisecond), relClip(r.stdout, 3000), relClip(r.stderr, 5000))
}

// redactArgs hides DSNs in test failure messages (they are the test's own
// throwaway credentials, but keep the habit).
func redactArgs(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if strings.Contains(a, "://") && strings.Contains(a, "@") {
			if u, err := url.Parse(a); err == nil && u.User != nil {
				u.User = url.User(u.User.Username())
				a = u.String()
			}
		}
		out[i] = a
	}
	return out
}

func relClip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n/2] + fmt.Sprintf("\n…(%d bytes)…\n", len(s)-n) + s[len(s)-n/2:]
}

type binProc struct {
	t     testing.TB
	args  []string
	cmd   *exec.Cmd
	out   relBuffer
	errb  relBuffer
	start time.Time
	done  chan struct{}
	res   binResult
}

// cleanEnv is the test process's environment without SCRIPTSTATS_*
// variables (make test exports the shared stack's DSNs: a subprocess must
// get only what the test gives it), plus extra.
func binEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SCRIPTSTATS_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// startCLI starts scriptstats with args; env are extra NAME=value pairs.
func startBin(t testing.TB, env []string, args ...string) *binProc {
	t.Helper()
	p := &binProc{t: t, args: args, done: make(chan struct{})}
	p.cmd = exec.Command(scriptstatsBin(t), args...)
	p.cmd.Env = binEnv(env...)
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.errb
	p.start = time.Now()
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = p.cmd.Wait()
		p.res = binResult{args: args, stdout: p.out.String(), stderr: p.errb.String(), elapsed: time.Since(p.start)}
		st := p.cmd.ProcessState
		p.res.code = st.ExitCode()
		if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			p.res.signal = ws.Signal()
			p.res.killed = ws.Signal() == syscall.SIGKILL
		}
		if ru, ok := st.SysUsage().(*syscall.Rusage); ok {
			p.res.maxRSS = ru.Maxrss * 1024 // kilobytes on Linux
		}
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// wait waits for the process to end (at most 3 minutes: then it is killed
// and the test fails).
func (p *binProc) wait() binResult {
	p.t.Helper()
	select {
	case <-p.done:
	case <-time.After(3 * time.Minute):
		_ = p.cmd.Process.Kill()
		<-p.done
		p.t.Fatalf("scriptstats did not finish in 3 minutes: %s", p.res)
	}
	return p.res
}

// exited reports whether the process has ended.
func (p *binProc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// signal sends sig to the process (no-op once it has ended).
func (p *binProc) signal(sig syscall.Signal) {
	if !p.exited() {
		_ = p.cmd.Process.Signal(sig)
	}
}

// stderrNow is what the process has written to stderr so far.
func (p *binProc) stderrNow() string { return p.errb.String() }

// waitStderr waits until stderr contains s, or the process ends, or the
// timeout passes; it reports whether s was seen.
func (p *binProc) waitStderr(s string, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if strings.Contains(p.errb.String(), s) {
			return true
		}
		if p.exited() {
			return strings.Contains(p.errb.String(), s)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

func runBin(t testing.TB, env []string, args ...string) binResult {
	t.Helper()
	return startBin(t, env, args...).wait()
}

func mustRunBin(t testing.TB, env []string, args ...string) binResult {
	t.Helper()
	r := runBin(t, env, args...)
	if r.code != 0 {
		t.Fatalf("want exit 0: %s", r)
	}
	return r
}

// reasonLines are the lines of stderr that are not JSON log lines: what a
// person reads as the reason of a failure.
func reasonLines(stderr string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(stderr))
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.TrimSpace(line) == "" || json.Valid([]byte(line)) {
			continue
		}
		out = append(out, line)
	}
	return out
}

// assertOneLineFailure checks the exit status and that stderr holds exactly
// one line besides JSON logs, "scriptstats: …" containing each of want
// (case-insensitive).
func assertOneLineFailure(t testing.TB, r binResult, code int, want ...string) string {
	t.Helper()
	if r.code != code {
		t.Fatalf("want exit %d: %s", code, r)
	}
	lines := reasonLines(r.stderr)
	if len(lines) != 1 {
		t.Fatalf("want exactly one line of reason on stderr, got %d: %s", len(lines), r)
	}
	line := lines[0]
	if !strings.HasPrefix(line, "scriptstats: ") {
		t.Fatalf("reason line %q does not start with \"scriptstats: \"", line)
	}
	for _, w := range want {
		if !strings.Contains(strings.ToLower(line), strings.ToLower(w)) {
			t.Fatalf("reason line %q does not mention %q", line, w)
		}
	}
	return line
}

// logLines returns the JSON log lines of stderr with the given message.
func logLines(stderr, message string) []map[string]any {
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(stderr))
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil && m["message"] == message {
			out = append(out, m)
		}
	}
	return out
}

// passSummary returns the "pass finished" log line of a pass.
func passSummary(t testing.TB, r binResult) map[string]any {
	t.Helper()
	lines := logLines(r.stderr, "pass finished")
	if len(lines) != 1 {
		t.Fatalf("want one \"pass finished\" line, got %d: %s", len(lines), r)
	}
	return lines[0]
}

// invalidCounts returns the summary's "invalid" object.
func invalidCounts(t testing.TB, sum map[string]any) map[string]int64 {
	t.Helper()
	inv, ok := sum["invalid"].(map[string]any)
	if !ok {
		t.Fatalf("summary has no \"invalid\" object: %v", sum)
	}
	out := map[string]int64{}
	for k, v := range inv {
		out[k] = int64(v.(float64))
	}
	return out
}

// ---------------------------------------------------------------- a job under test

// jobEnv is one source database and one ClickHouse database with the
// scriptstats flags that reach them.
type jobEnv struct {
	t      *testing.T
	pgDSN  string
	chDSN  string
	tz     string
	batch  int
	pool   *pgxpool.Pool
	ch     driver.Conn // opened by migrate
	extra  []string    // more flags for every command
	env    []string    // more NAME=value settings for every command
	gen    demodata.Options
	mutSeq int64
	chs    *teststack.ClickHouseServer // a private server, when the test has one
	// chAborts counts how often the private ClickHouse died with a killed
	// client and was started again.
	chAborts int
}

// newPrivateCHEnv is a job on a fresh database of the shared PostgreSQL and
// a private ClickHouse server. Tests that kill scriptstats need one: the
// chDB engine that serves ClickHouse locally aborts — the whole server —
// when a client's connection is reset in the middle of a query, which a
// client killed with SIGKILL does; the shared server must not go down.
func newPrivateCHEnv(t *testing.T) *jobEnv {
	t.Helper()
	chs := teststack.PrivateClickHouse(t)
	e := newJobEnv(t, teststack.Postgres(t), chs.DSN("default", "", "scriptstats"))
	e.chs = chs
	return e
}

// reviveCH starts the private ClickHouse again if it died, and reconnects;
// it reports whether it had to. wait is how long to wait for a server that
// may be dying (the engine takes a second or so to exit after an abort).
func (e *jobEnv) reviveCH(wait time.Duration) bool {
	e.t.Helper()
	if e.chs == nil {
		return false
	}
	deadline := time.Now().Add(wait)
	for e.chs.Running() && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if !e.chs.Revive() {
		return false
	}
	e.chAborts++
	if e.ch != nil {
		_ = e.ch.Close()
		e.ch = openClickHouse(e.t, e.chDSN)
	}
	return true
}

// settleCH is called after scriptstats was killed: when the kill reset a
// connection in the middle of a query, the private ClickHouse aborts when
// that query next touches the connection — a few milliseconds later, or
// later still for a long INSERT … SELECT (a backfill killed while the run
// links are written beside the recompute: a server alive and answering at
// 200 ms died under the test's next query, CI on 209bc57). So wait until no
// other query runs on the server, and then a little longer, and start it
// again if it dies meanwhile, so that the test's own queries do not meet a
// dying server.
func (e *jobEnv) settleCH() {
	e.t.Helper()
	if e.chs == nil {
		return
	}
	ctx := context.Background()
	const quietChecks = 3 // checks 100 ms apart with no other query
	quiet := 0
	for deadline := time.Now().Add(20 * time.Second); quiet < quietChecks && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
		if !e.chs.Running() || e.ch == nil || e.ch.Ping(ctx) != nil {
			e.reviveCH(10 * time.Second)
			return
		}
		// Queries of clients over TCP (1) or HTTP (2), not this one; the
		// engine's own query that keeps it serving is interface 6.
		var others uint64
		if err := e.ch.QueryRow(ctx, "SELECT count() FROM system.processes WHERE interface IN (1, 2) AND query_id != queryID()").Scan(&others); err != nil {
			e.reviveCH(10 * time.Second)
			return
		}
		if others == 0 {
			quiet++
		} else {
			quiet = 0
		}
	}
}

// mustPass runs a pass that must succeed; when the private ClickHouse died
// under it (see newPrivateCHEnv) it is started again and the pass rerun.
func (e *jobEnv) mustPass(cmd string, more ...string) binResult {
	e.t.Helper()
	r := e.cli(nil, cmd, more...)
	for i := 0; i < 3 && r.code != 0; i++ {
		if r.code == exitLocked {
			// Right after a killed pass: its session is still ending.
			time.Sleep(200 * time.Millisecond)
		} else if !e.reviveCH(5 * time.Second) {
			break
		}
		r = e.cli(nil, cmd, more...)
	}
	if r.code != 0 {
		e.t.Fatalf("want exit 0: %s", r)
	}
	return r
}

func newJobEnv(t *testing.T, pgDSN, chDSN string) *jobEnv {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), pgDSN)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return &jobEnv{t: t, pgDSN: pgDSN, chDSN: chDSN, tz: "UTC", batch: 200, pool: pool}
}

// flags are the connection and pass flags of every command.
func (e *jobEnv) flags() []string {
	f := []string{"--pg-dsn", e.pgDSN, "--clickhouse-dsn", e.chDSN, "--log-format", "json"}
	return append(f, e.extra...)
}

func (e *jobEnv) passFlags() []string {
	return append(e.flags(), "--timezone", e.tz, "--batch-size", strconv.Itoa(e.batch))
}

func (e *jobEnv) args(cmd string, more ...string) []string {
	var a []string
	switch cmd {
	case "migrate", "compare", "report":
		a = []string{cmd, "--clickhouse-dsn", e.chDSN, "--log-format", "json"}
	default:
		a = append([]string{cmd}, e.passFlags()...)
	}
	return append(a, more...)
}

// cli runs a command; env are extra environment variables.
func (e *jobEnv) cli(env []string, cmd string, more ...string) binResult {
	e.t.Helper()
	return runBin(e.t, append(slices.Clone(e.env), env...), e.args(cmd, more...)...)
}

func (e *jobEnv) must(cmd string, more ...string) binResult {
	e.t.Helper()
	return mustRunBin(e.t, e.env, e.args(cmd, more...)...)
}

func (e *jobEnv) start(env []string, cmd string, more ...string) *binProc {
	e.t.Helper()
	return startBin(e.t, append(slices.Clone(e.env), env...), e.args(cmd, more...)...)
}

// migrate creates the ClickHouse database and opens a connection to it.
func (e *jobEnv) migrate() {
	e.t.Helper()
	e.must("migrate")
	if e.ch == nil {
		e.ch = openClickHouse(e.t, e.chDSN)
	}
}

func (e *jobEnv) exec(sql string, args ...any) {
	e.t.Helper()
	if _, err := e.pool.Exec(context.Background(), sql, args...); err != nil {
		e.t.Fatalf("%s: %v", relClip(sql, 300), err)
	}
}

// generate writes a demo history with odd values.
func (e *jobEnv) generate(opt demodata.Options) demodata.Summary {
	e.t.Helper()
	if opt.End.IsZero() {
		opt.End = time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	}
	e.gen = opt
	sum, err := demodata.Generate(context.Background(), e.pool, opt, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return sum
}

// smallHistory is the history most reliability tests use: a few thousand
// runs with odd values over 120 scripts (so that a pass recomputes more
// than 2000 groups and reaches every failpoint).
func smallHistory(seed int64, runs int) demodata.Options {
	return demodata.Options{Scripts: 120, Days: 30, Runs: runs, Seed: seed,
		StepsShare: 0.7, MinSteps: 2, MaxSteps: 6, Stories: true, Odd: true, OddRate: 0.04}
}

// mutate changes the source the ways production does (no deletions unless
// deletes > 0: only a backfill finds those).
func (e *jobEnv) mutate(scale, deletes int) demodata.MutateSummary {
	e.t.Helper()
	e.mutSeq++
	sum, err := demodata.Mutate(context.Background(), e.pool, demodata.MutateOptions{
		Gen: e.gen, Seed: e.gen.Seed*1000 + e.mutSeq,
		Finish: 5 * scale, LateUpdates: 20 * scale, RerunDays: 1, Moved: 3 * scale, StepRenames: 1,
		ScriptRenames: 1, Deletes: deletes, NewRuns: 30 * scale,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return sum
}

// touch rewrites updated_at of about a share of the runs, so that the next
// incremental pass reads them again (many batches).
func (e *jobEnv) touch(share float64) {
	e.t.Helper()
	e.exec(`UPDATE task_log SET updated_at = clock_timestamp() WHERE random() < $1`, share)
}

// dayRange returns the first and last day of every run in the source and
// in ClickHouse (verify over "all days").
func (e *jobEnv) dayRange() (from, to string) {
	e.t.Helper()
	ctx := context.Background()
	var lo, hi *time.Time
	err := e.pool.QueryRow(ctx, `SELECT min(d), max(d) FROM (
		SELECT (coalesce(started_at, created_at) AT TIME ZONE $1)::date AS d FROM task_log) x
		WHERE d BETWEEN '1900-01-01' AND '2299-12-31'`, e.tz).Scan(&lo, &hi)
	if err != nil {
		e.t.Fatal(err)
	}
	if e.ch != nil {
		var clo, chi time.Time
		var n uint64
		if err := e.ch.QueryRow(ctx, "SELECT min(day), max(day), count() FROM runs").Scan(&clo, &chi, &n); err != nil {
			e.t.Fatal(err)
		}
		if n > 0 {
			if lo == nil || clo.Before(*lo) {
				lo = &clo
			}
			if hi == nil || chi.After(*hi) {
				hi = &chi
			}
		}
	}
	if lo == nil {
		return "2026-01-01", "2026-01-01"
	}
	return lo.Format(time.DateOnly), hi.Format(time.DateOnly)
}

// verifyAll runs `scriptstats verify` over every day and wants no
// difference.
func (e *jobEnv) verifyAll(stage string) {
	e.t.Helper()
	from, to := e.dayRange()
	r := e.cli(nil, "verify", "--from", from, "--to", to)
	if r.code != 0 || strings.TrimSpace(r.stdout) != "" {
		e.t.Fatalf("%s: verify %s..%s found differences: %s", stage, from, to, r)
	}
}

// checkAll is verify over all days and the PostgreSQL oracle of every view.
func (e *jobEnv) checkAll(stage string) {
	e.t.Helper()
	e.verifyAll(stage)
	assertViewsMatchOracle(e.t, stage, e.pool, e.ch, e.tz)
}

// chState is everything a pass may write, to check that a failed pass
// changed nothing: the job state and the row count and newest version of
// every private table (counted without FINAL: any write adds rows).
type chState struct {
	State  string
	Tables map[string][2]uint64
}

func (e *jobEnv) snapshotCH() chState {
	e.t.Helper()
	ctx := context.Background()
	s := chState{Tables: map[string][2]uint64{}}
	s.State = e.jobState()
	for _, tbl := range []string{"runs_state", "run_places", "groups_state", "scripts_state", "job_state"} {
		var n, v uint64
		if err := e.ch.QueryRow(ctx, "SELECT count(), max(_version) FROM "+tbl).Scan(&n, &v); err != nil {
			e.t.Fatal(err)
		}
		s.Tables[tbl] = [2]uint64{n, v}
	}
	var n, v uint64
	if err := e.ch.QueryRow(ctx, "SELECT count(), max(pass_version) FROM pending_groups").Scan(&n, &v); err != nil {
		e.t.Fatal(err)
	}
	s.Tables["pending_groups"] = [2]uint64{n, v}
	return s
}

func (e *jobEnv) assertCHUnchanged(stage string, before chState) {
	e.t.Helper()
	after := e.snapshotCH()
	if after.State != before.State {
		e.t.Fatalf("%s: job_state changed:\nbefore %s\nafter  %s", stage, before.State, after.State)
	}
	for k, v := range before.Tables {
		// Any write adds rows with a version above every earlier one; a
		// background merge may only remove replaced rows.
		if a := after.Tables[k]; a[1] != v[1] || a[0] > v[0] {
			e.t.Fatalf("%s: ClickHouse table %s changed: rows, version %v -> %v", stage, k, v, a)
		}
	}
}

// jobState is the stored state JSON ("" when none).
func (e *jobEnv) jobState() string {
	e.t.Helper()
	var v string
	rows, err := e.ch.Query(context.Background(), "SELECT value FROM job_state FINAL WHERE key = 'state'")
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := rows.Scan(&v); err != nil {
			e.t.Fatal(err)
		}
	}
	return v
}

// watermarkXmax is the stored watermark's xmax (0 when none).
func (e *jobEnv) watermarkXmax() int64 {
	e.t.Helper()
	var st struct {
		Watermark *struct {
			Xmax int64 `json:"xmax"`
		} `json:"watermark"`
	}
	s := e.jobState()
	if s == "" {
		return 0
	}
	if err := json.Unmarshal([]byte(s), &st); err != nil {
		e.t.Fatal(err)
	}
	if st.Watermark == nil {
		return 0
	}
	return st.Watermark.Xmax
}

// relWaitFor polls cond every 20 ms until it holds or timeout passes.
func relWaitFor(t testing.TB, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// lockHeld reports whether some session holds an advisory lock in the
// source database (the pass lock).
func (e *jobEnv) lockHeld() bool {
	var n int
	err := e.pool.QueryRow(context.Background(), `SELECT count(*) FROM pg_locks
		WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`).Scan(&n)
	return err == nil && n > 0
}

// soak tells whether the long soak runs (make soak).
func soakMode() bool { return os.Getenv("SCRIPTSTATS_SOAK") != "" }

func relRand(t testing.TB) (*rand.Rand, uint64) {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("SCRIPTSTATS_TEST_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	t.Logf("random seed %d (SCRIPTSTATS_TEST_SEED=%d repeats it)", seed, seed)
	return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), seed
}

func getenv(name string) string { return os.Getenv(name) }

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }

func jsonMarshal(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func execCombined(args ...string) ([]byte, error) {
	return exec.Command(args[0], args[1:]...).CombinedOutput()
}

// pgQueryRow runs one query on a new connection to dsn.
func pgQueryRow(t testing.TB, dsn, sql string, dest ...any) error {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	return conn.QueryRow(ctx, sql).Scan(dest...)
}
