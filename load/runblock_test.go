package load_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/scriptstats/scriptstats/transform"
)

// A first load's block gathers runs from several batches into one INSERT:
// every run added is written once, with its own values, though the slice
// it came from is reused for the next batch before the block is sent.
func TestRunBlockWritesEveryRunAddedOnce(t *testing.T) {
	dsn, sink := migrated(t)
	ctx := context.Background()
	d := transform.DayFromDate(2026, 11, 1)
	block, err := sink.NewRunBlock(ctx, 5)
	if err != nil {
		t.Fatal(err)
	}
	batch := make([]transform.Run, 2)
	for b := range 3 {
		for i := range batch {
			id := int64(10*b + i + 1)
			r := run(id, 7, d+transform.Day(b), "failed", transform.StatusFailed)
			r.ErrorMessage = transform.NullString{String: fmt.Sprintf("error of run %d", id), Valid: true}
			r.Steps = append(r.Steps, transform.Step{Index: 1, Name: transform.NullString{String: fmt.Sprintf("step of run %d", id), Valid: true},
				Status: transform.StepFailed, Duration: transform.NullFloat{Float64: float64(id) / 4, Valid: true},
				Error: transform.NullString{String: fmt.Sprintf("step error %d", id), Valid: true}})
			batch[i] = r
		}
		if err := block.Add(batch, nil); err != nil {
			t.Fatal(err)
		}
		clear(batch) // the loader reuses its batches
	}
	if block.Len() != 6 {
		t.Fatalf("block of %d runs, want 6", block.Len())
	}
	if n := count(t, dsn, "SELECT count() FROM runs_state"); n != 0 {
		t.Fatalf("%d rows written before the block was sent", n)
	}
	if err := sink.InsertRunBlock(ctx, block); err != nil {
		t.Fatal(err)
	}
	conn := openConn(t, dsn)
	rows, err := conn.Query(ctx, `SELECT run_id, toString(day), error_message, step_name[2], step_error[2], step_duration[2], _version
		FROM runs_state ORDER BY run_id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var (
			id                   int64
			day                  string
			msg, name, stepError *string
			dur                  *float64
			version              uint64
		)
		if err := rows.Scan(&id, &day, &msg, &name, &stepError, &dur, &version); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%d %s %s|%s|%s|%g v%d", id, day, *msg, *name, *stepError, *dur, version))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"1 2026-11-01 error of run 1|step of run 1|step error 1|0.25 v5",
		"2 2026-11-01 error of run 2|step of run 2|step error 2|0.5 v5",
		"11 2026-11-02 error of run 11|step of run 11|step error 11|2.75 v5",
		"12 2026-11-02 error of run 12|step of run 12|step error 12|3 v5",
		"21 2026-11-03 error of run 21|step of run 21|step error 21|5.25 v5",
		"22 2026-11-03 error of run 22|step of run 22|step error 22|5.5 v5",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("runs_state:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// The run lookup table is written by the same INSERT.
	if n := count(t, dsn, "SELECT count() FROM run_steps WHERE step_index = 1 AND error = concat('step error ', toString(run_id))"); n != 6 {
		t.Fatalf("run_steps: %d failed steps with their errors, want 6", n)
	}
}

// An empty block writes nothing and opens no query.
func TestRunBlockEmptyWritesNothing(t *testing.T) {
	dsn, sink := migrated(t)
	ctx := context.Background()
	block, err := sink.NewRunBlock(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := sink.InsertRunBlock(ctx, block); err != nil {
		t.Fatal(err)
	}
	if n := count(t, dsn, "SELECT count() FROM runs_state"); n != 0 {
		t.Fatalf("%d rows, want 0", n)
	}
}

// A block's batches go to ClickHouse in one INSERT, which it writes as one
// part per partition (merges stopped, so that nothing else joins them):
// what spares a first load most of its merges. Aborted, the block commits
// what it sent; a later first pass starts from empty tables (Sink.Reset).
func TestRunBlockIsOnePartPerPartition(t *testing.T) {
	dsn, sink := migrated(t)
	ctx := context.Background()
	conn := openConn(t, dsn)
	for _, q := range []string{"SYSTEM STOP MERGES runs_state", "SYSTEM STOP MERGES runs_by_id"} {
		if err := conn.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	block, err := sink.NewRunBlock(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	batch := make([]transform.Run, 50)
	for b := range 4 {
		for i := range batch {
			// Two months: two partitions.
			d := transform.DayFromDate(2026, time.Month(10+i%2), 1+b)
			batch[i] = run(int64(1000*b+i+1), int64(1+i%3), d, "success", transform.StatusSuccess)
		}
		if err := block.Add(batch, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := sink.InsertRunBlock(ctx, block); err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"runs_state", "runs_by_id"} {
		if n := count(t, dsn, "SELECT count() FROM system.parts WHERE database = currentDatabase() AND table = ? AND active", table); n != 2 {
			t.Errorf("%s: %d parts, want 2 (one per month)", table, n)
		}
	}
	if n := count(t, dsn, "SELECT count() FROM runs_state FINAL"); n != 200 {
		t.Fatalf("%d runs, want 200", n)
	}

	aborted, err := sink.NewRunBlock(ctx, 4)
	if err != nil {
		t.Fatal(err)
	}
	if err := aborted.Add(batch[:7], nil); err != nil {
		t.Fatal(err)
	}
	aborted.Abort()
	if n := count(t, dsn, "SELECT count() FROM runs_state WHERE _version = 4"); n != 7 {
		t.Fatalf("an aborted block left %d rows, want the 7 it sent", n)
	}
}
