package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	sqlfiles "github.com/scriptstats/scriptstats/sql"
)

// A transaction running since before the first pass (so its age is
// unknown) commits after it, with a stamp far in the past: the next pass
// reads its rows by writer, not the whole history again.
func TestTransactionOfUnknownAgeIsReadByWriter(t *testing.T) {
	ctx := context.Background()
	pgDSN, chDSN, pool := freshDatabases(t,
		sqlfiles.PostgresReferenceSchema,
		`INSERT INTO scripts VALUES (1, 'nightly')`,
		`INSERT INTO task_log (id, script_id, status, started_at, finished_at, duration, updated_at)
		 SELECT g, 1, 'success', '2026-11-20 10:00Z'::timestamptz + g * interval '1 second', NULL, 1, '2026-11-20 12:00Z'
		 FROM generate_series(1, 500) g`,
	)
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if _, err := tx.Exec(ctx, `UPDATE task_log SET status = 'failed', updated_at = '2020-01-01Z' WHERE id = 7`); err != nil {
		t.Fatal(err)
	}
	common := []string{"--pg-dsn", pgDSN, "--clickhouse-dsn", chDSN, "--log-format", "json"}
	mustCLI(t, "migrate", "--clickhouse-dsn", chDSN)
	mustCLI(t, append([]string{"run"}, common...)...)
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	_, _, logs := cli(t, append([]string{"run"}, common...)...)
	var sum struct {
		Mode          string `json:"mode"`
		RowsExtracted int64  `json:"rows_extracted"`
	}
	for _, line := range strings.Split(logs, "\n") {
		if strings.Contains(line, `"pass finished"`) {
			if err := json.Unmarshal([]byte(line), &sum); err != nil {
				t.Fatal(err)
			}
		}
	}
	if sum.Mode != "incremental" || sum.RowsExtracted != 1 {
		t.Fatalf("second pass: %+v, want incremental with exactly the one row of the late transaction\n%s", sum, logs)
	}
	ch := openClickHouse(t, chDSN)
	var failed uint64
	if err := ch.QueryRow(ctx, "SELECT failed FROM script_daily WHERE script_id = 1").Scan(&failed); err != nil {
		t.Fatal(err)
	}
	if failed != 1 {
		t.Fatalf("the late transaction's change is missing: failed = %d", failed)
	}
	assertViewsMatchOracle(t, "after the late transaction", pool, ch, "UTC")
}
