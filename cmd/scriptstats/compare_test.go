package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	sqlfiles "github.com/scriptstats/scriptstats/sql"
)

// TestCompareAlignsSteps loads three hand-made runs and checks the text and
// JSON diffs, and the errors for an unknown run.
func TestCompareAlignsSteps(t *testing.T) {
	ctx := context.Background()
	pgDSN, chDSN, _ := freshDatabases(t,
		sqlfiles.PostgresReferenceSchema,
		`INSERT INTO scripts VALUES (1, 'checkout'), (2, 'login')`,
		`INSERT INTO task_log (id, script_id, status, started_at, finished_at, duration, error_message, steps) VALUES
		 (10, 1, 'success', '2026-11-20 10:00Z', '2026-11-20 10:01Z', 60, NULL,
		  '[{"index":0,"name":"open","status":"success","duration":1.5},{"index":1,"name":"pay","status":"success","duration":4}]'),
		 (11, 1, 'failed', '2026-11-21 10:00Z', '2026-11-21 10:02Z', 75.5, 'card declined',
		  '[{"index":0,"name":"open","status":"success","duration":2},{"index":1,"name":"pay","status":"failed","duration":9,"error":"declined"},{"index":2,"name":"confirm","status":"skipped"}]'),
		 (20, 2, 'success', '2026-11-21 11:00Z', '2026-11-21 11:00:05Z', 5, NULL, NULL),
		 (-5, 2, 'success', '2026-11-22 11:00Z', '2026-11-22 11:00:05Z', 5, NULL, NULL),
		 (-6, 2, 'failed', '2026-11-22 12:00Z', '2026-11-22 12:00:07Z', 7, 'x', NULL)`,
	)
	mustCLI(t, "migrate", "--clickhouse-dsn", chDSN)
	mustCLI(t, "run", "--pg-dsn", pgDSN, "--clickhouse-dsn", chDSN, "--log-format", "json")

	text := mustCLI(t, "compare", "10", "11", "--clickhouse-dsn", chDSN)
	for _, want := range []string{
		"duration delta (B-A): 15.500s",
		"first divergent step: 1",
		"card declined",
		"step 1 error in B: declined",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("text output lacks %q:\n%s", want, text)
		}
	}
	var lines []string
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, "0 ") || strings.HasPrefix(l, "1 ") || strings.HasPrefix(l, "2 ") {
			lines = append(lines, strings.Join(strings.Fields(l), " "))
		}
	}
	wantRows := []string{
		"0 open success success 1.500s 2.000s 0.500s",
		"1 pay success failed 4.000s 9.000s 5.000s <- differs",
		"2 confirm (absent) skipped - - - <- differs",
	}
	if strings.Join(lines, "\n") != strings.Join(wantRows, "\n") {
		t.Errorf("step rows:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(wantRows, "\n"))
	}

	var js struct {
		SameScript         bool     `json:"same_script"`
		DurationDelta      *float64 `json:"duration_delta"`
		FirstDivergentStep *int32   `json:"first_divergent_step"`
		Steps              []struct {
			Index         int32                    `json:"step_index"`
			StatusChanged bool                     `json:"status_changed"`
			DurationDelta *float64                 `json:"duration_delta"`
			A             *struct{ Status string } `json:"a"`
		} `json:"steps"`
	}
	if err := json.Unmarshal([]byte(mustCLI(t, "compare", "--json", "--clickhouse-dsn", chDSN, "10", "11")), &js); err != nil {
		t.Fatal(err)
	}
	if !js.SameScript || js.DurationDelta == nil || *js.DurationDelta != 15.5 || js.FirstDivergentStep == nil || *js.FirstDivergentStep != 1 ||
		len(js.Steps) != 3 || js.Steps[2].A != nil || !js.Steps[1].StatusChanged || *js.Steps[1].DurationDelta != 5 {
		t.Errorf("json: %+v", js)
	}

	// The view agrees with compare.
	ch := openClickHouse(t, chDSN)
	var prev *int64
	var first *int32
	var delta *float64
	if err := ch.QueryRow(ctx, "SELECT previous_run_id, first_divergent_step, duration_delta FROM run_vs_previous WHERE run_id = 11").Scan(&prev, &first, &delta); err != nil {
		t.Fatal(err)
	}
	if prev == nil || *prev != 10 || first == nil || *first != 1 || delta == nil || *delta != 15.5 {
		t.Errorf("run_vs_previous for run 11: previous %v, first divergent %v, delta %v", prev, first, delta)
	}
	if err := ch.QueryRow(ctx, "SELECT previous_run_id, first_divergent_step FROM run_vs_previous WHERE run_id = 10").Scan(&prev, &first); err != nil {
		t.Fatal(err)
	}
	if prev != nil || first != nil {
		t.Errorf("a script's first run has no previous: %v %v", prev, first)
	}

	different := mustCLI(t, "compare", "10", "20", "--clickhouse-dsn", chDSN)
	if !strings.Contains(different, "different scripts (1 and 2)") {
		t.Errorf("runs of different scripts must be said:\n%s", different)
	}
	code, _, errOut := cli(t, "compare", "10", "999", "--clickhouse-dsn", chDSN)
	if code != exitFailure || !strings.Contains(errOut, "unknown run 999") || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
		t.Errorf("unknown run: exit %d, stderr %q", code, errOut)
	}
	// Negative run ids go after "--", with flags before or after the ids.
	for _, args := range [][]string{
		{"compare", "--clickhouse-dsn", chDSN, "--", "-5", "-6"},
		{"compare", "--clickhouse-dsn", chDSN, "--json", "--", "-5", "-6"},
	} {
		out := mustCLI(t, args...)
		if !strings.Contains(out, "-5") || !strings.Contains(out, "-6") {
			t.Errorf("%q: output does not name runs -5 and -6:\n%s", args, out)
		}
	}
	code, _, errOut = cli(t, "compare", "--clickhouse-dsn", chDSN, "-5", "-6")
	if code != exitUsage || !strings.Contains(errOut, "negative run ids go after --") || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
		t.Errorf("negative ids without --: exit %d, stderr %q", code, errOut)
	}
	code, _, errOut = cli(t, "compare", "10", "--clickhouse-dsn", chDSN)
	if code != exitUsage || !strings.Contains(errOut, "two run ids") {
		t.Errorf("one run id: exit %d, stderr %q", code, errOut)
	}
}
