package extract_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/scriptstats/scriptstats/deploy/teststack"
	"github.com/scriptstats/scriptstats/extract"
	sqlfiles "github.com/scriptstats/scriptstats/sql"
	"github.com/scriptstats/scriptstats/transform"
)

func setup(t *testing.T) (dsn string, pool *pgxpool.Pool) {
	t.Helper()
	dsn = teststack.Postgres(t)
	pool, err := pgxpool.New(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if _, err := pool.Exec(context.Background(), sqlfiles.PostgresReferenceSchema); err != nil {
		t.Fatal(err)
	}
	return dsn, pool
}

func open(t *testing.T, dsn string) *extract.Source {
	t.Helper()
	src, err := extract.Open(context.Background(), dsn, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(src.Close)
	return src
}

func TestLockExcludesOthersAndDiesWithItsConnection(t *testing.T) {
	dsn, pool := setup(t)
	ctx := context.Background()
	a, b := open(t, dsn), open(t, dsn)
	key := extract.LockKey("t")
	lock, err := a.TryLock(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = lock.Release(ctx) }() // its connection is gone by then: closing is all it does
	if _, err := b.TryLock(ctx, key); !errors.Is(err, extract.ErrLocked) {
		t.Fatalf("second TryLock: %v, want ErrLocked", err)
	}
	other, err := b.TryLock(ctx, extract.LockKey("other database"))
	if err != nil {
		t.Fatalf("a different key must not be excluded: %v", err)
	}
	if err := other.Release(ctx); err != nil {
		t.Fatal(err)
	}
	// The holder's connection dies (as with SIGKILL of its process): the
	// lock is free at once.
	var killed int
	err = pool.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_locks
		WHERE locktype = 'advisory' AND granted AND ((classid::bigint << 32) | objid::bigint) = $1`, key).Scan(&killed)
	if err != nil || killed != 1 {
		t.Fatalf("terminating the holder: %d terminated, %v", killed, err)
	}
	time.Sleep(100 * time.Millisecond)
	again, err := b.TryLock(ctx, key)
	if err != nil {
		t.Fatalf("lock not freed by the holder's death: %v", err)
	}
	if err := again.Release(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestSelectOnlyRoleCanDoEverything(t *testing.T) {
	dsn, pool := setup(t)
	ctx := context.Background()
	for _, q := range []string{
		`DROP ROLE IF EXISTS scriptstats_reader_t`,
		`CREATE ROLE scriptstats_reader_t LOGIN PASSWORD 'reader-pw'`,
		`GRANT SELECT ON task_log, scripts TO scriptstats_reader_t`,
		`INSERT INTO scripts VALUES (1, 'login')`,
		`INSERT INTO task_log (id, script_id, status) VALUES (1, 1, 'success')`,
	} {
		if _, err := pool.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	t.Cleanup(func() {
		_, _ = pool.Exec(context.Background(), `DROP OWNED BY scriptstats_reader_t`)
		_, _ = pool.Exec(context.Background(), `DROP ROLE IF EXISTS scriptstats_reader_t`)
	})
	cfg, _ := pgx.ParseConfig(dsn)
	cfg.User, cfg.Password = "scriptstats_reader_t", "reader-pw"
	readerDSN := strings.Replace(dsn, "postgres:scriptstats-local@", "scriptstats_reader_t:reader-pw@", 1)
	src := open(t, readerDSN)
	lock, err := src.TryLock(ctx, extract.LockKey("x"))
	if err != nil {
		t.Fatalf("advisory lock as a SELECT-only role: %v", err)
	}
	defer func() { _ = lock.Release(ctx) }()
	snap, err := src.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = snap.Close(ctx) }()
	if snap.Info().Marker == 0 {
		t.Errorf("marker transaction id not available to a SELECT-only role")
	}
	if err := snap.CheckSchema(ctx); err != nil {
		t.Fatal(err)
	}
	names, err := snap.Scripts(ctx)
	if err != nil || names[1] != "login" {
		t.Fatalf("scripts: %v %v", names, err)
	}
	n := 0
	if err := snap.ChangedRuns(ctx, time.Time{}, 100, func(*transform.SourceRun) error { n++; return nil }); err != nil || n != 1 {
		t.Fatalf("changed runs: %d %v", n, err)
	}
}

func TestSchemaDriftIsNamed(t *testing.T) {
	dsn, pool := setup(t)
	ctx := context.Background()
	check := func() error {
		snap, err := open(t, dsn).Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = snap.Close(ctx) }()
		return snap.CheckSchema(ctx)
	}
	mustExec := func(q string) {
		if _, err := pool.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	mustExec(`ALTER TABLE task_log ADD COLUMN extra text`)
	if err := check(); err != nil {
		t.Fatalf("an added column must be ignored: %v", err)
	}
	mustExec(`ALTER TABLE task_log DROP COLUMN failed_step_name`)
	err := check()
	if !errors.Is(err, extract.ErrSchema) || !strings.Contains(err.Error(), "task_log.failed_step_name is missing") {
		t.Fatalf("missing column: %v", err)
	}
	mustExec(`ALTER TABLE task_log ADD COLUMN failed_step_name text`)
	mustExec(`ALTER TABLE task_log ALTER COLUMN duration TYPE text`)
	err = check()
	if !errors.Is(err, extract.ErrSchema) || !strings.Contains(err.Error(), "task_log.duration has type text") {
		t.Fatalf("retyped column: %v", err)
	}
}

func TestRowsArriveAsWritten(t *testing.T) {
	dsn, pool := setup(t)
	ctx := context.Background()
	long := strings.Repeat("é", 3000) // 6000 bytes
	_, err := pool.Exec(ctx, `INSERT INTO task_log (id, script_id, status, started_at, finished_at, duration,
		failed_step_index, failed_step_name, error_message, steps, created_at, updated_at) VALUES
		(9223372036854775807, -5, 'x', '-infinity', 'infinity', 'NaN', 2, 'pay', $1, '[{"index":0}]', '2026-01-02 03:04:05.123456Z', '2026-01-02 03:04:06Z'),
		(2, 1, 'success', NULL, NULL, NULL, NULL, NULL, NULL, NULL, '2026-01-02Z', '2026-01-02Z')`, long)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := open(t, dsn).Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = snap.Close(ctx) }()
	got := map[int64]transform.SourceRun{}
	err = snap.AllRuns(ctx, 100, func(r *transform.SourceRun) error {
		c := *r
		c.Steps = append([]byte(nil), r.Steps...)
		if r.Steps == nil {
			c.Steps = nil
		}
		got[r.ID] = c
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	a := got[math.MaxInt64]
	if a.ScriptID != -5 || a.Status != "x" || !math.IsNaN(a.Duration.Float64) || !a.Duration.Valid {
		t.Fatalf("row 1: %+v", a)
	}
	if !a.StartedAt.Valid || a.StartedAt.Time.Year() > 0 || !a.FinishedAt.Valid || a.FinishedAt.Time.Year() < 100000 {
		t.Fatalf("infinities: %v %v", a.StartedAt, a.FinishedAt)
	}
	if len([]rune(a.ErrorMessage.String)) != 100 || a.ErrorMessageBytes != 6000 {
		t.Fatalf("error message: %d runes, %d bytes in all", len([]rune(a.ErrorMessage.String)), a.ErrorMessageBytes)
	}
	if string(a.Steps) != `[{"index": 0}]` || a.FailedStepIndex != (transform.NullInt32{Int32: 2, Valid: true}) {
		t.Fatalf("steps %q, failed step %+v", a.Steps, a.FailedStepIndex)
	}
	if want := time.Date(2026, 1, 2, 3, 4, 5, 123456000, time.UTC); !a.CreatedAt.Equal(want) {
		t.Fatalf("created_at %v, want %v", a.CreatedAt, want)
	}
	b := got[2]
	if b.Steps != nil || b.StartedAt.Valid || b.Duration.Valid || b.ErrorMessage.Valid {
		t.Fatalf("NULLs must stay NULL: %+v", b)
	}
}

// Each row's steps text is its own while the row is handed over, though
// one buffer holds them in turn: longer and shorter texts, NULL, and a
// text longer than the buffer's first size.
func TestStepsTextsInTurn(t *testing.T) {
	dsn, pool := setup(t)
	ctx := context.Background()
	long := `["` + strings.Repeat("x", 9000) + `"]`
	want := map[int64]*string{1: ptr(`[1, 2, 3]`), 2: ptr(`[1]`), 3: nil, 4: ptr(long), 5: ptr(`[]`), 6: ptr(`[{"a": 2}]`)}
	for id, s := range want {
		if _, err := pool.Exec(ctx, `INSERT INTO task_log (id, script_id, status, steps, created_at, updated_at)
			VALUES ($1, 1, 'success', $2::jsonb, '2026-01-02Z', '2026-01-02Z')`, id, s); err != nil {
			t.Fatal(err)
		}
	}
	snap, err := open(t, dsn).Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = snap.Close(ctx) }()
	seen := 0
	err = snap.AllRuns(ctx, 100, func(r *transform.SourceRun) error {
		seen++
		w := want[r.ID]
		switch {
		case w == nil && r.Steps != nil:
			t.Errorf("run %d: steps %q, want NULL", r.ID, r.Steps)
		case w != nil && (r.Steps == nil || string(r.Steps) != *w):
			t.Errorf("run %d: steps %.40q (%d bytes), want %.40q (%d bytes)", r.ID, r.Steps, len(r.Steps), *w, len(*w))
		}
		return nil
	})
	if err != nil || seen != len(want) {
		t.Fatalf("%d rows, %v", seen, err)
	}
}

func ptr(s string) *string { return &s }
