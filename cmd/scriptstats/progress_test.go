package main

import (
	"encoding/json"
	"strings"
	"testing"

	sqlfiles "github.com/scriptstats/scriptstats/sql"
)

// Off a terminal, a full load and a backfill report progress as log lines
// with the done and expected counts (on a terminal the same numbers drive
// a progress bar).
func TestLongPassesReportProgress(t *testing.T) {
	pgDSN, chDSN, _ := freshDatabases(t,
		sqlfiles.PostgresReferenceSchema,
		`INSERT INTO task_log (id, script_id, status, started_at, finished_at, duration)
		 SELECT g, 1 + g % 3, 'success', '2026-11-20 00:00Z'::timestamptz + g * interval '1 minute', NULL, 2
		 FROM generate_series(1, 1200) g`,
		`INSERT INTO task_log (id, script_id, status, started_at, finished_at, duration)
		 SELECT 5000 + g, 1, 'failed', '2026-11-22 00:00Z'::timestamptz + g * interval '1 minute', NULL, 3
		 FROM generate_series(1, 300) g`,
		`ANALYZE task_log`,
	)
	common := []string{"--pg-dsn", pgDSN, "--clickhouse-dsn", chDSN, "--log-format", "json", "--batch-size", "100"}
	mustCLI(t, "migrate", "--clickhouse-dsn", chDSN)
	for _, args := range [][]string{{"run"}, {"backfill", "--from", "2026-11-20", "--to", "2026-11-20"}} {
		_, _, logs := cli(t, append(args, common...)...)
		var p struct {
			Done      int64 `json:"runs_done"`
			Estimated int64 `json:"runs_estimated"`
		}
		for _, line := range strings.Split(logs, "\n") {
			if strings.Contains(line, `"loading runs"`) {
				if err := json.Unmarshal([]byte(line), &p); err != nil {
					t.Fatal(err)
				}
				break
			}
		}
		// The full load expects the whole table (the planner's estimate,
		// exact after ANALYZE); the backfill counts the runs of its day.
		wantTotal := map[string]int64{"run": 1500, "backfill": 1200}[args[0]]
		if p.Done != 100 || p.Estimated != wantTotal {
			t.Errorf("%s: first progress line %+v, want 100 done of %d\n%s", args[0], p, wantTotal, logs)
		}
	}
}
