package schedules

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/rs/zerolog"

	"github.com/scriptstats/scriptstats/deploy/teststack"
	"github.com/scriptstats/scriptstats/extract"
	"github.com/scriptstats/scriptstats/load"
	sqlfiles "github.com/scriptstats/scriptstats/sql"
	"github.com/scriptstats/scriptstats/transform"
)

// A pass dies after writing a moved run at its new day (failpoint
// mid_runs_insert, as a SIGKILL would), the clock then steps back an hour,
// the run moves back: the next pass's tombstone at the new day must win
// over the killed pass's row there, so it numbers its rows above every
// version written, not only above the last completed pass.
func TestClockStepBackAfterAKilledPass(t *testing.T) {
	ctx := context.Background()
	pgDSN, chDSN := teststack.Postgres(t), teststack.ClickHouse(t)
	pool, err := pgxpool.New(ctx, pgDSN)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	for _, q := range []string{sqlfiles.PostgresReferenceSchema,
		`INSERT INTO scripts VALUES (1, 'backup')`,
		`INSERT INTO task_log (id, script_id, status, started_at, finished_at, created_at, updated_at) VALUES
			(1, 1, 'success', '2026-03-01 10:00Z', '2026-03-01 10:05Z', '2026-03-01 10:00Z', '2026-03-01 10:05Z'),
			(2, 1, 'failed',  '2026-03-01 11:00Z', '2026-03-01 11:01Z', '2026-03-01 11:00Z', '2026-03-01 11:01Z')`,
	} {
		if _, err := pool.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := load.Migrate(ctx, chDSN); err != nil {
		t.Fatal(err)
	}
	src, err := extract.Open(ctx, pgDSN, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	sink, err := load.Open(ctx, chDSN)
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	skew := time.Duration(0)
	j := &Job{Source: FromExtract(src), Sink: sink, Zone: time.UTC, ZoneName: "UTC", Limits: transform.DefaultLimits,
		Lookback: 10 * time.Minute, BatchSize: 100, Log: zerolog.Nop(),
		Now: func() time.Time { return time.Now().Add(skew) }}
	if _, err := j.Run(ctx, RunOptions{}); err != nil {
		t.Fatal(err)
	}
	move := func(by string) {
		t.Helper()
		if _, err := pool.Exec(ctx, `UPDATE task_log SET started_at = started_at + $1::interval,
			finished_at = finished_at + $1::interval, created_at = created_at + $1::interval,
			updated_at = clock_timestamp() WHERE id = 1`, by); err != nil {
			t.Fatal(err)
		}
	}
	move("1 day")
	skew = time.Hour
	failpoints[fpMidRunsInsert] = "error"
	_, err = j.Run(ctx, RunOptions{})
	delete(failpoints, fpMidRunsInsert)
	if err == nil {
		t.Fatal("the pass must fail at mid_runs_insert")
	}
	skew = 0 // the clock steps back an hour
	move("-1 day")
	if _, err := j.Run(ctx, RunOptions{}); err != nil {
		t.Fatal(err)
	}
	cur, err := sink.Runs(ctx, transform.DayFromDate(2026, 2, 28), transform.DayFromDate(2026, 3, 3))
	if err != nil {
		t.Fatal(err)
	}
	defer cur.Close()
	var days []string
	for cur.Next() {
		if r := cur.Row(); r.RunID == 1 {
			days = append(days, r.Day.String())
		}
	}
	if len(days) != 1 || days[0] != "2026-03-01" {
		t.Fatalf("run 1 in runs at %v, want once at 2026-03-01", days)
	}
}
