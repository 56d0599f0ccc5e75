package main

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/scriptstats/scriptstats/deploy/teststack"
)

// Each fault: a non-zero exit with one line on stderr, the watermark
// (job_state) unchanged, and the next pass correct.

// TestFaultPostgresRestartMidExtract restarts a private PostgreSQL while a
// pass is streaming runs from it.
func TestFaultPostgresRestartMidExtract(t *testing.T) {
	t.Parallel()
	pg := teststack.PrivatePostgres(t)
	e := newJobEnv(t, pg.CreateDatabase(t, "source", ""), privateCH(t).DSN("default", "", "scriptstats"))
	e.generate(smallHistory(41, 1000))
	// Rows big enough (4 KB of error text each) that the result of the
	// extract cannot sit whole in socket buffers: the server is still
	// sending when it is restarted.
	e.exec(`INSERT INTO task_log (id, script_id, status, started_at, finished_at, duration, error_message, created_at, updated_at)
		SELECT 100000 + g, 1 + g % 7, 'failed', now() - g * interval '1 minute', now() - g * interval '1 minute' + interval '5 seconds',
		       5, repeat('stack trace line ' || g || E'\n', 250), now(), now()
		FROM generate_series(1, 5000) g`)
	e.migrate()
	e.must("run")
	e.touch(1)
	before := e.jobState()

	p := e.start([]string{"SCRIPTSTATS_FAILPOINTS=after_batch=sleep:2s"}, "run")
	relWaitFor(t, "the pass to stream runs", 30*time.Second, func() bool {
		var n int
		_ = e.pool.QueryRow(context.Background(), `SELECT count(*) FROM pg_stat_activity
			WHERE application_name = 'scriptstats' AND state = 'active' AND query LIKE '%error_message_bytes%'`).Scan(&n)
		return n > 0 || p.exited()
	})
	pg.Restart()
	e.pool.Reset()
	r := p.wait()
	line := assertOneLineFailure(t, r, 1, "postgres read")
	t.Logf("PostgreSQL restarted mid-extract: %q", line)
	if after := e.jobState(); after != before {
		t.Fatalf("the watermark moved after a failed pass:\nbefore %s\nafter  %s", before, after)
	}
	e.must("run")
	e.checkAll("after a PostgreSQL restart mid-extract")
}

// privateCH is a private ClickHouse for tests that make scriptstats fail
// in the middle of a pass (see newPrivateCHEnv).
func privateCH(t *testing.T) *teststack.ClickHouseServer { return teststack.PrivateClickHouse(t) }

// waitNewBatch waits until the running pass has journaled groups (its
// first batch is being written).
func (e *jobEnv) waitNewBatch(p *binProc) {
	e.t.Helper()
	var n0 uint64
	if err := e.ch.QueryRow(context.Background(), "SELECT count() FROM pending_groups").Scan(&n0); err != nil {
		e.t.Fatal(err)
	}
	relWaitFor(e.t, "the pass to write a batch", 30*time.Second, func() bool {
		var n uint64
		_ = e.ch.QueryRow(context.Background(), "SELECT count() FROM pending_groups").Scan(&n)
		return n > n0 || p.exited()
	})
}

// TestFaultClickHouse stops a private ClickHouse in the middle of a load:
// for good (the pass fails after bounded retries), for about a second (the
// pass succeeds after retries), and while a pass is retrying (it stops on
// cancellation); a permanent error is not retried.
func TestFaultClickHouse(t *testing.T) {
	t.Parallel()
	e := newPrivateCHEnv(t)
	chs := e.chs
	e.generate(smallHistory(51, 2000))
	e.migrate()
	e.must("run")
	reconnect := func() {
		_ = e.ch.Close()
		e.ch = openClickHouse(t, e.chDSN)
	}

	// Stopped mid-load, for good.
	e.mutate(2, 0)
	e.touch(0.5)
	before := e.jobState()
	p := e.start([]string{"SCRIPTSTATS_FAILPOINTS=after_batch=sleep:2s"}, "run")
	e.waitNewBatch(p)
	chs.Stop()
	r := p.wait()
	line := assertOneLineFailure(t, r, 1, "clickhouse")
	retries := len(logLines(r.stderr, "clickhouse error, retrying"))
	if retries == 0 || retries > 10 {
		t.Fatalf("want a few retries, then the failure; got %d: %s", retries, r)
	}
	t.Logf("ClickHouse stopped mid-load: %q after %d retries, %s", line, retries, r.elapsed.Round(time.Millisecond))
	chs.Start()
	reconnect()
	if after := e.jobState(); after != before {
		t.Fatalf("the watermark moved after a failed pass:\nbefore %s\nafter  %s", before, after)
	}
	e.must("run")
	e.checkAll("after ClickHouse stopped mid-load")

	// Down for about a second: the pass rides it out.
	e.mutate(2, 0)
	e.touch(0.5)
	p = e.start([]string{"SCRIPTSTATS_FAILPOINTS=after_batch=sleep:1s"}, "run")
	e.waitNewBatch(p)
	downAt := time.Now()
	chs.Kill()
	time.Sleep(1500 * time.Millisecond)
	chs.Start()
	down := time.Since(downAt)
	r = p.wait()
	if r.code != 0 {
		t.Fatalf("a pass through a %s outage: %s", down.Round(time.Millisecond), r)
	}
	retries = len(logLines(r.stderr, "clickhouse error, retrying"))
	if retries == 0 {
		t.Fatalf("the pass did not meet the outage (no retry logged): %s", r)
	}
	t.Logf("ClickHouse down %s mid-pass: the pass succeeded after %d retries", down.Round(time.Millisecond), retries)
	reconnect()
	e.checkAll("after a short ClickHouse outage")

	// Retrying, then cancelled (SIGTERM): it stops at once.
	p = e.start([]string{"SCRIPTSTATS_FAILPOINTS=after_lock=sleep:1s"}, "run")
	relWaitFor(t, "the pass to hold the lock", 10*time.Second, func() bool { return e.lockHeld() || p.exited() })
	chs.Kill()
	if !p.waitStderr("clickhouse error, retrying", 10*time.Second) {
		t.Fatalf("no retry: %s", p.wait())
	}
	termAt := time.Now()
	p.signal(syscall.SIGTERM)
	r = p.wait()
	if stop := time.Since(termAt); stop > 2*time.Second {
		t.Fatalf("a retrying pass took %s to stop on SIGTERM", stop)
	}
	assertOneLineFailure(t, r, exitInterrupted, "clickhouse")
	chs.Start()
	reconnect()

	// A permanent error (a table is missing) is not retried.
	e.exec(`UPDATE task_log SET updated_at = clock_timestamp() WHERE id IN (SELECT id FROM task_log ORDER BY id LIMIT 50)`)
	if err := e.ch.Exec(context.Background(), "DROP TABLE run_places"); err != nil {
		t.Fatal(err)
	}
	before = e.jobState()
	r = e.cli(nil, "run")
	assertOneLineFailure(t, r, 1, "run_places")
	if n := len(logLines(r.stderr, "clickhouse error, retrying")); n != 0 {
		t.Fatalf("a permanent error was retried %d times: %s", n, r)
	}
	if after := e.jobState(); after != before {
		t.Fatalf("the watermark moved after a failed pass")
	}
	t.Logf("permanent error: exit 1 after %s, no retry", r.elapsed.Round(time.Millisecond))
}

// TestFaultConnectionRefused: nothing listens where a DSN points.
func TestFaultConnectionRefused(t *testing.T) {
	t.Parallel()
	e := newJobEnv(t, teststack.Postgres(t), teststack.ClickHouse(t))
	e.generate(smallHistory(61, 500))
	e.migrate()
	e.must("run")
	e.mutate(1, 0)
	before := e.snapshotCH()
	port := strconv.Itoa(teststack.FreePort(t))

	bad := *e
	u, _ := url.Parse(e.pgDSN)
	u.Host = "127.0.0.1:" + port
	bad.pgDSN = u.String()
	line := assertOneLineFailure(t, bad.cli(nil, "run"), 1, "postgres connect", "connection refused")
	t.Logf("PostgreSQL refused: %q", line)

	bad = *e
	u, _ = url.Parse(e.chDSN)
	u.Host = "127.0.0.1:" + port
	bad.chDSN = u.String()
	line = assertOneLineFailure(t, bad.cli(nil, "run"), 1, "clickhouse connect", "connection refused")
	t.Logf("ClickHouse refused: %q", line)
	assertOneLineFailure(t, bad.cli(nil, "migrate"), 1, "clickhouse", "connection refused")

	e.assertCHUnchanged("after refused connections", before)
	e.must("run")
	e.checkAll("after refused connections")
}

// TestFaultStatementTimeout: the job's queries run into the statement
// timeout — a tiny one, and one met because another session locks
// task_log.
func TestFaultStatementTimeout(t *testing.T) {
	t.Parallel()
	e := newJobEnv(t, teststack.Postgres(t), teststack.ClickHouse(t))
	e.generate(smallHistory(71, 2000))
	e.migrate()
	e.must("run")
	e.touch(1)
	before := e.snapshotCH()

	line := assertOneLineFailure(t, e.cli(nil, "run", "--statement-timeout", "1ms"), 1, "statement timeout")
	t.Logf("--statement-timeout 1ms: %q", line)
	e.assertCHUnchanged("after a statement timeout", before)

	ctx := context.Background()
	tx, err := e.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "LOCK TABLE task_log IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	r := e.cli(nil, "run", "--statement-timeout", "500ms")
	_ = tx.Rollback(ctx)
	line = assertOneLineFailure(t, r, 1, "statement timeout")
	t.Logf("task_log locked, --statement-timeout 500ms: %q after %s", line, r.elapsed.Round(time.Millisecond))
	e.assertCHUnchanged("after a statement timeout on a locked table", before)

	e.must("run", "--statement-timeout", "1m")
	e.checkAll("after statement timeouts")
}

// TestSourceRewind: the source went back in time (a restored backup) —
// the pass fails loudly and changes nothing.
func TestSourceRewind(t *testing.T) {
	t.Parallel()
	e := newJobEnv(t, teststack.Postgres(t), teststack.ClickHouse(t))
	e.generate(smallHistory(81, 500))
	e.migrate()
	e.must("run")
	e.mutate(1, 0)

	// The state as a pass on a source far ahead would have left it.
	var st map[string]any
	var version uint64
	ctx := context.Background()
	if err := e.ch.QueryRow(ctx, "SELECT max(_version) FROM job_state").Scan(&version); err != nil {
		t.Fatal(err)
	}
	if err := jsonUnmarshal(e.jobState(), &st); err != nil {
		t.Fatal(err)
	}
	wm := st["watermark"].(map[string]any)
	wm["xmax"] = wm["xmax"].(float64) + 1e9
	wm["marker"] = wm["marker"].(float64) + 1e9
	if err := e.ch.Exec(ctx, "INSERT INTO job_state (key, value, _version) VALUES ('state', ?, ?)", jsonMarshal(st), version+1); err != nil {
		t.Fatal(err)
	}
	before := e.snapshotCH()
	line := assertOneLineFailure(t, e.cli(nil, "run"), 1, "went back in time", "scriptstats backfill --accept-rewind --from")
	t.Logf("rewound source: %q", line)
	from, to := e.dayRange()
	assertOneLineFailure(t, e.cli(nil, "backfill", "--from", from, "--to", to), 1, "went back in time", "--accept-rewind")
	e.assertCHUnchanged("after a refused rewound source", before)

	// The way out the message names: the days recomputed, the watermark
	// reset to the source as it is; incremental passes then go on.
	fakeXmax := e.watermarkXmax()
	r := e.must("backfill", "--accept-rewind", "--from", from, "--to", to)
	if !strings.Contains(r.stderr, "source went back in time: accepted") {
		t.Fatalf("backfill --accept-rewind does not say it accepted a rewind: %s", r)
	}
	if got := e.watermarkXmax(); got >= fakeXmax || got <= 0 {
		t.Fatalf("after backfill --accept-rewind the watermark's xmax is %d, want the source's (below %d)", got, fakeXmax)
	}
	e.mutate(1, 0)
	e.must("run")
	e.checkAll("after backfill --accept-rewind and a pass")
	// Without a rewind the flag changes nothing but says so.
	r = e.must("backfill", "--accept-rewind", "--from", from, "--to", to)
	if !strings.Contains(r.stderr, "did not go back in time") {
		t.Fatalf("backfill --accept-rewind without a rewind: %s", r)
	}
	good := e.jobState()
	if err := e.ch.QueryRow(ctx, "SELECT max(_version) FROM job_state").Scan(&version); err != nil {
		t.Fatal(err)
	}

	// A real restore: the source dumped and restored into a fresh cluster,
	// whose transaction counter is far behind.
	bindir := teststack.PostgresBinDir()
	if bindir == "" {
		t.Log("no pg_dump: the real restore is skipped")
		return
	}
	pg := teststack.PrivatePostgres(t)
	restored := pg.CreateDatabase(t, "restored", "")
	dump := t.TempDir() + "/source.dump"
	for _, c := range [][]string{
		{bindir + "/pg_dump", "-Fc", "-f", dump, "-d", e.pgDSN},
		{bindir + "/pg_restore", "--no-owner", "-d", restored, dump},
	} {
		if out, err := execCombined(c...); err != nil {
			t.Fatalf("%s: %v\n%s", c[0], err, out)
		}
	}
	// Put back the state a pass on the real source left.
	if err := e.ch.Exec(ctx, "INSERT INTO job_state (key, value, _version) VALUES ('state', ?, ?)", good, version+2); err != nil {
		t.Fatal(err)
	}
	// The shared cluster must be ahead of the fresh one (it is, unless it
	// was just created): burn transaction ids until it is.
	var freshXmax int64
	if err := pgQueryRow(t, restored, "SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint", &freshXmax); err != nil {
		t.Fatal(err)
	}
	for i := e.watermarkXmax(); i <= freshXmax+10; i++ {
		e.exec("SELECT pg_current_xact_id()")
	}
	e.mutate(1, 0)
	e.must("run")
	before = e.snapshotCH()
	if e.watermarkXmax() <= freshXmax {
		t.Fatalf("the shared cluster's transaction counter (%d) is not ahead of a fresh cluster's (%d)", e.watermarkXmax(), freshXmax)
	}
	r = e.cli(nil, "run", "--pg-dsn", restored)
	line = assertOneLineFailure(t, r, 1, "went back in time", "--accept-rewind")
	t.Logf("restored backup: %q", line)
	e.assertCHUnchanged("after a refused restored source", before)

	// Accept the restore: every day recomputed from the restored source
	// (its days and those of the source and ClickHouse).
	from, to = e.dayRange()
	var rfrom, rto string
	if err := pgQueryRow(t, restored, `SELECT min(d)::text, max(d)::text FROM (
		SELECT (coalesce(started_at, created_at) AT TIME ZONE 'UTC')::date AS d FROM task_log) x
		WHERE d BETWEEN '1900-01-01' AND '2299-12-31'`, &rfrom, &rto); err != nil {
		t.Fatal(err)
	}
	from, to = min(from, rfrom), max(to, rto)
	e.must("backfill", "--pg-dsn", restored, "--accept-rewind", "--from", from, "--to", to)
	e.must("run", "--pg-dsn", restored)
	r = e.cli(nil, "verify", "--pg-dsn", restored, "--from", from, "--to", to)
	if r.code != 0 || strings.TrimSpace(r.stdout) != "" {
		t.Fatalf("verify against the restored source after backfill --accept-rewind: %s", r)
	}
	rpool, err := pgxpool.New(ctx, restored)
	if err != nil {
		t.Fatal(err)
	}
	defer rpool.Close()
	assertViewsMatchOracle(t, "restored source after backfill --accept-rewind", rpool, e.ch, e.tz)
}

// TestSchemaDrift: an added source column is ignored; a missing or retyped
// one fails the pass before anything is loaded, naming the column.
func TestSchemaDrift(t *testing.T) {
	t.Parallel()
	e := newJobEnv(t, teststack.Postgres(t), teststack.ClickHouse(t))
	e.generate(smallHistory(91, 800))
	e.migrate()

	// On the very first pass (empty ClickHouse) too: nothing is loaded.
	e.exec(`ALTER TABLE task_log RENAME COLUMN steps TO steps_v2`)
	empty := e.snapshotCH()
	assertOneLineFailure(t, e.cli(nil, "run"), 1, "task_log.steps is missing")
	e.assertCHUnchanged("first pass, missing column", empty)
	e.exec(`ALTER TABLE task_log RENAME COLUMN steps_v2 TO steps`)
	e.must("run")

	e.exec(`ALTER TABLE task_log ADD COLUMN runner_host text DEFAULT 'ci-7'`)
	e.exec(`ALTER TABLE scripts ADD COLUMN owner text`)
	e.mutate(2, 0)
	e.must("run")
	e.checkAll("after added columns")

	from, to := e.dayRange()
	// The reference recomputation leaves a temporary view on a pooled
	// session, and a view pins the columns it reads.
	e.pool.Reset()
	for _, c := range []struct{ change, undo, want string }{
		{`ALTER TABLE task_log DROP COLUMN failed_step_name`, `ALTER TABLE task_log ADD COLUMN failed_step_name text`,
			"column task_log.failed_step_name is missing"},
		{`ALTER TABLE task_log ALTER COLUMN duration TYPE text`, `ALTER TABLE task_log ALTER COLUMN duration TYPE double precision USING duration::double precision`,
			"column task_log.duration has type text"},
		{`ALTER TABLE scripts RENAME COLUMN name TO title`, `ALTER TABLE scripts RENAME COLUMN title TO name`,
			"column scripts.name is missing"},
		{`ALTER TABLE task_log ALTER COLUMN started_at TYPE timestamp`, `ALTER TABLE task_log ALTER COLUMN started_at TYPE timestamptz`,
			"column task_log.started_at has type timestamp without time zone"},
	} {
		e.mutate(1, 0)
		e.exec(c.change)
		before := e.snapshotCH()
		line := assertOneLineFailure(t, e.cli(nil, "run"), 1, "source schema", c.want)
		assertOneLineFailure(t, e.cli(nil, "backfill", "--from", from, "--to", to), 1, c.want)
		e.assertCHUnchanged(c.change, before)
		t.Logf("%s: %q", c.change, line)
		e.exec(c.undo)
	}
	// The dropped column came back empty: a source change no updated_at
	// shows, so a backfill brings ClickHouse back in line.
	e.must("run")
	from, to = e.dayRange()
	e.must("backfill", "--from", from, "--to", to)
	e.checkAll("after the schema was repaired")
}
