package load_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/scriptstats/scriptstats/deploy/teststack"
	"github.com/scriptstats/scriptstats/load"
	"github.com/scriptstats/scriptstats/transform"
)

func migrated(t *testing.T) (string, *load.Sink) {
	t.Helper()
	dsn := teststack.ClickHouse(t)
	if _, err := load.Migrate(context.Background(), dsn); err != nil {
		t.Fatal(err)
	}
	sink, err := load.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sink.Close() })
	return dsn, sink
}

// openConn is a connection to the test's database, closed at the end of
// the test.
func openConn(t *testing.T, dsn string) driver.Conn {
	t.Helper()
	opts, err := clickhouse.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := clickhouse.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

func count(t *testing.T, dsn, query string, args ...any) uint64 {
	t.Helper()
	conn := openConn(t, dsn)
	var n uint64
	if err := conn.QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

func TestMigrateIsIdempotentAndConcurrent(t *testing.T) {
	dsn := teststack.ClickHouse(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = load.Migrate(ctx, dsn)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatalf("concurrent migrate: %v", err)
		}
	}
	if _, err := load.Migrate(ctx, dsn); err != nil {
		t.Fatalf("migrate again: %v", err)
	}
	sink, err := load.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	if err := sink.CheckSchema(ctx); err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"script_daily", "step_daily", "runs", "run_steps", "run_vs_previous"} {
		if n := count(t, dsn, "SELECT count() FROM system.tables WHERE database = currentDatabase() AND name = ?", v); n != 1 {
			t.Errorf("view %s: %d", v, n)
		}
	}
}

func TestOpenRefusesUnmigratedDatabase(t *testing.T) {
	dsn := teststack.ClickHouse(t)
	if _, err := load.Open(context.Background(), dsn); err == nil {
		t.Fatal("open of a database that does not exist must fail")
	}
}

func run(id, script int64, day transform.Day, status string, class transform.StatusClass) transform.Run {
	at := day.Time().Add(10 * time.Hour)
	return transform.Run{ID: id, ScriptID: script, Day: day, Status: status, Class: class, OrderedAt: at,
		StartedAt: transform.NullTime{Time: at, Valid: true}, CreatedAt: at, UpdatedAt: at,
		Duration: transform.NullFloat{Float64: float64(id), Valid: true},
		Steps:    []transform.Step{{Index: 0, Name: transform.NullString{String: "open", Valid: true}, Status: transform.StepSuccess}}}
}

// Rewrites and deletions are invisible duplicates-wise at once: the views
// read through FINAL, so no background merge is needed.
func TestUpsertsAndTombstonesShowNoDuplicatesBeforeMerges(t *testing.T) {
	dsn, sink := migrated(t)
	ctx := context.Background()
	d1 := transform.DayFromDate(2026, 11, 1)
	runs := []transform.Run{run(1, 7, d1, "running", transform.StatusUnfinished), run(2, 7, d1, "success", transform.StatusSuccess), run(3, 7, d1, "failed", transform.StatusFailed)}
	if err := sink.WriteRuns(ctx, runs, nil, 1); err != nil {
		t.Fatal(err)
	}
	// Pass 2: run 1 finishes, run 2 moves to the next day, run 3 is deleted.
	r1 := run(1, 7, d1, "success", transform.StatusSuccess)
	r2 := run(2, 7, d1+1, "success", transform.StatusSuccess)
	gone := []load.Location{{RunID: 2, Key: transform.GroupKey{ScriptID: 7, Day: d1}}, {RunID: 3, Key: transform.GroupKey{ScriptID: 7, Day: d1}}}
	if err := sink.WriteRuns(ctx, []transform.Run{r1, r2}, gone, 2); err != nil {
		t.Fatal(err)
	}
	if n := count(t, dsn, "SELECT count() FROM runs"); n != 2 {
		t.Fatalf("runs view: %d rows, want 2", n)
	}
	if n := count(t, dsn, "SELECT count() FROM runs WHERE run_id = 1 AND status = 'success'"); n != 1 {
		t.Fatalf("run 1 not replaced")
	}
	if n := count(t, dsn, "SELECT count() FROM runs WHERE run_id = 2 AND day = '2026-11-02'"); n != 1 {
		t.Fatalf("run 2 not moved")
	}
	if n := count(t, dsn, "SELECT count() FROM run_steps"); n != 2 {
		t.Fatalf("run_steps: %d rows, want 2", n)
	}
	if n := count(t, dsn, "SELECT count() FROM runs_state"); n < 5 {
		t.Fatalf("the test wants unmerged parts: %d raw rows", n)
	}
	places, err := sink.Places(ctx, []int64{1, 2, 3, 4})
	if err != nil {
		t.Fatal(err)
	}
	want := map[int64][]transform.GroupKey{1: {{ScriptID: 7, Day: d1}}, 2: {{ScriptID: 7, Day: d1 + 1}}}
	if fmt.Sprint(places) != fmt.Sprint(want) {
		t.Fatalf("places %v, want %v", places, want)
	}
}

func TestPendingGroupsIncludeGroupsLeftEmpty(t *testing.T) {
	_, sink := migrated(t)
	ctx := context.Background()
	d := transform.DayFromDate(2026, 3, 8)
	// Run 5 finished (a time with microseconds), run 6 without a start
	// or a duration (NULL read back as NULL).
	r5, r6 := run(5, 1, d, "success", transform.StatusSuccess), run(6, 1, d, "failed", transform.StatusFailed)
	finished := r5.StartedAt.Time.Add(90*time.Second + 7*time.Microsecond)
	r5.FinishedAt = transform.NullTime{Time: finished, Valid: true}
	r6.StartedAt, r6.Duration = transform.NullTime{}, transform.NullFloat{}
	if err := sink.WriteRuns(ctx, []transform.Run{r5, r6}, nil, 10); err != nil {
		t.Fatal(err)
	}
	keys := []transform.GroupKey{{ScriptID: 1, Day: d}, {ScriptID: 2, Day: d}}
	if err := sink.JournalGroups(ctx, keys, 11); err != nil {
		t.Fatal(err)
	}
	got := map[transform.GroupKey][]int64{}
	n, err := sink.PendingGroups(ctx, 10, func(k transform.GroupKey, runs []transform.Run) error {
		ids := []int64{}
		for _, r := range runs {
			ids = append(ids, r.ID)
			if len(r.Steps) != 1 || r.Steps[0].Name.String != "open" {
				t.Errorf("run %d read back wrong: %+v", r.ID, r)
			}
			want := r5
			if r.ID == 6 {
				want = r6
			}
			if r.Duration.Valid != want.Duration.Valid || (want.Duration.Valid && r.Duration.Float64 != want.Duration.Float64) || r.StartedAt.Valid != want.StartedAt.Valid || !r.StartedAt.Time.Equal(want.StartedAt.Time) ||
				r.FinishedAt.Valid != want.FinishedAt.Valid || !r.FinishedAt.Time.Equal(want.FinishedAt.Time) || r.Class != want.Class {
				t.Errorf("run %d read back: duration %+v started %+v finished %+v class %v; wrote %+v %+v %+v %v",
					r.ID, r.Duration, r.StartedAt, r.FinishedAt, r.Class, want.Duration, want.StartedAt, want.FinishedAt, want.Class)
			}
		}
		got[k] = ids
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 || len(got[keys[0]]) != 2 || got[keys[0]][0] != 5 || len(got[keys[1]]) != 0 {
		t.Fatalf("pending groups: %d %v", n, got)
	}
	if _, ok := got[keys[1]]; !ok {
		t.Fatalf("a journaled group without runs must still be reported (for its tombstone)")
	}
	if n, err := sink.PendingGroups(ctx, 11, func(transform.GroupKey, []transform.Run) error { return nil }); err != nil || n != 0 {
		t.Fatalf("groups after the completed version: %d %v", n, err)
	}
}
