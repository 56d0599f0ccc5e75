package main

import (
	"context"
	_ "embed"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// The oracle: every public view recomputed in PostgreSQL SQL from the
// source tables (testdata/oracle_*.sql), independently of the job's Go code,
// and compared with ClickHouse row by row and column by column.

var (
	//go:embed testdata/oracle_setup.sql
	oracleSetupSQL string
	//go:embed testdata/oracle_script_daily.sql
	oracleScriptDailySQL string
	//go:embed testdata/oracle_step_daily.sql
	oracleStepDailySQL string
	//go:embed testdata/oracle_runs.sql
	oracleRunsSQL string
	//go:embed testdata/oracle_run_steps.sql
	oracleRunStepsSQL string
	//go:embed testdata/oracle_run_vs_previous.sql
	oracleRunVsPreviousSQL string
	//go:embed testdata/oracle_success_rate_drops.sql
	oracleSuccessRateDropsSQL string
)

// The text limits of docs/design.md ("Error texts"): --error-bytes defaults
// to 4096; names and status values are cut to 512 bytes.
const (
	oracleErrorBytes = 4096
	oracleNameBytes  = 512
)

// oracleView is one public view: the columns compared, the first keys of
// them identifying a row (run_steps: several rows per key when a run repeats
// a step index), and the oracle's query, which returns at least those
// columns and the optional ones. Optional columns (contract section 2b) are
// compared when the view has them.
type oracleView struct {
	name     string
	oracle   string
	columns  []string
	keys     int
	optional []string
}

// withColumns is v comparing its columns and those optional columns that
// the ClickHouse view has.
func (v oracleView) withColumns(have map[string]bool) oracleView {
	v.columns = slices.Clone(v.columns)
	for _, c := range v.optional {
		if have[c] {
			v.columns = append(v.columns, c)
		}
	}
	return v
}

func (v oracleView) oracleQuery() string {
	return "SELECT " + strings.Join(v.columns, ", ") + " FROM (" + v.oracle + ") AS oracle"
}

func (v oracleView) clickhouseQuery() string {
	cols := slices.Clone(v.columns)
	for j, c := range cols {
		if c == "day" {
			cols[j] = "toString(day)"
		}
	}
	return "SELECT " + strings.Join(cols, ", ") + " FROM " + v.name
}

var oracleViews = []oracleView{
	{
		name:   "script_daily",
		oracle: oracleScriptDailySQL,
		columns: []string{"script_id", "day", "script_name", "total", "success", "failed", "timeout", "cancelled", "other",
			"success_rate", "duration_count", "invalid_duration", "duration_avg", "duration_min", "duration_max",
			"duration_p50", "duration_p90", "duration_p95", "duration_p99",
			"success_duration_avg", "success_duration_p50", "success_duration_p95"},
		keys:     2,
		optional: []string{"success_rate_low", "success_rate_high"},
	},
	{
		name:   "step_daily",
		oracle: oracleStepDailySQL,
		columns: []string{"script_id", "day", "step_index", "script_name", "step_name", "attempts", "failures",
			"failure_rate", "last_failure_at", "last_error"},
		keys:     3,
		optional: []string{"failure_rate_low", "failure_rate_high"},
	},
	{
		name:   "runs",
		oracle: oracleRunsSQL,
		columns: []string{"run_id", "script_id", "script_name", "day", "status", "started_at", "finished_at", "duration",
			"failed_step_index", "failed_step_name", "error_message"},
		keys: 1,
	},
	{
		name:    "run_steps",
		oracle:  oracleRunStepsSQL,
		columns: []string{"run_id", "step_index", "script_id", "step_name", "status", "duration", "error"},
		keys:    2,
	},
	{
		name:   "run_vs_previous",
		oracle: oracleRunVsPreviousSQL,
		columns: []string{"run_id", "previous_run_id", "script_id", "status", "previous_status", "duration",
			"previous_duration", "duration_delta", "first_divergent_step"},
		keys: 1,
	},
	{
		name:   "success_rate_drops",
		oracle: oracleSuccessRateDropsSQL,
		columns: []string{"script_id", "day", "script_name", "total", "success_rate", "success_rate_low",
			"success_rate_high", "baseline_runs", "baseline_rate", "baseline_low", "baseline_high"},
		keys: 2,
	},
}

// approxColumn says which columns may differ in the last bits: averages
// (summation order) and Wilson bounds (order of operations). Every other
// value must be equal.
func approxColumn(name string) bool {
	return strings.HasSuffix(name, "_avg") || strings.HasSuffix(name, "_low") || strings.HasSuffix(name, "_high")
}

// viewDiff is the comparison of one view with the oracle.
type viewDiff struct {
	view       string
	columns    int
	oracleRows int
	viewRows   int
	problems   int      // rows missing, extra, doubled or with a differing value
	lines      []string // the first problems, readable
}

const oracleMaxLines = 15

func (d *viewDiff) add(format string, args ...any) {
	d.problems++
	if len(d.lines) < oracleMaxLines {
		d.lines = append(d.lines, fmt.Sprintf(format, args...))
	}
}

// oracleDiffs recomputes every view in PostgreSQL and compares it with
// ClickHouse, both ways: rows missing from a view, rows a view has and the
// oracle has not, rows a view has more often than the oracle, and every
// value of rows both have.
func oracleDiffs(t *testing.T, pool *pgxpool.Pool, ch driver.Conn, tz string) []viewDiff {
	t.Helper()
	views := make([]oracleView, len(oracleViews))
	for i, v := range oracleViews {
		views[i] = v.withColumns(viewColumns(t, ch, v.name))
	}
	want := oracleRows(t, pool, tz, views)
	var diffs []viewDiff
	for _, v := range views {
		got := clickhouseRows(t, ch, v)
		diffs = append(diffs, compareRows(v, want[v.name], got))
	}
	return diffs
}

// viewColumns are the columns a ClickHouse view has.
func viewColumns(t *testing.T, ch driver.Conn, view string) map[string]bool {
	t.Helper()
	rows, err := ch.Query(context.Background(),
		"SELECT name FROM system.columns WHERE database = currentDatabase() AND table = ?", view)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	have := map[string]bool{}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		have[name] = true
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(have) == 0 {
		t.Fatalf("view %s does not exist", view)
	}
	return have
}

// assertViewsMatchOracle fails the test when any public view differs from
// the oracle, with a readable list of the differences.
func assertViewsMatchOracle(t *testing.T, stage string, pool *pgxpool.Pool, ch driver.Conn, tz string) {
	t.Helper()
	start := time.Now()
	diffs := oracleDiffs(t, pool, ch, tz)
	var report []string
	var counts []string
	for _, d := range diffs {
		counts = append(counts, fmt.Sprintf("%s %d×%d", d.view, d.oracleRows, d.columns))
		if d.problems == 0 {
			continue
		}
		report = append(report, fmt.Sprintf("%s: %d rows in the view, %d in the oracle, %d problems:",
			d.view, d.viewRows, d.oracleRows, d.problems))
		for _, l := range d.lines {
			report = append(report, "  "+l)
		}
		if d.problems > len(d.lines) {
			report = append(report, fmt.Sprintf("  … and %d more", d.problems-len(d.lines)))
		}
	}
	if len(report) > 0 {
		t.Fatalf("%s: the views differ from the PostgreSQL oracle:\n%s", stage, strings.Join(report, "\n"))
	}
	t.Logf("%s: every view equals the oracle (rows×columns: %s; %v)", stage, strings.Join(counts, ", "),
		time.Since(start).Round(time.Millisecond))
}

// oracleRows runs the oracle in one transaction, rolled back: its temporary
// tables and functions never outlive it.
func oracleRows(t *testing.T, pool *pgxpool.Pool, tz string, views []oracleView) map[string][][]any {
	t.Helper()
	ctx := context.Background()
	tx, err := pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	_, err = tx.Exec(ctx, `SELECT set_config('scriptstats.tz', $1, true),
		set_config('scriptstats.error_bytes', $2, true), set_config('scriptstats.name_bytes', $3, true)`,
		tz, fmt.Sprint(oracleErrorBytes), fmt.Sprint(oracleNameBytes))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, oracleSetupSQL); err != nil {
		t.Fatalf("oracle setup: %v", err)
	}
	out := map[string][][]any{}
	for _, v := range views {
		rows, err := tx.Query(ctx, v.oracleQuery())
		if err != nil {
			t.Fatalf("oracle %s: %v", v.name, err)
		}
		for rows.Next() {
			vals, err := rows.Values()
			if err != nil {
				t.Fatalf("oracle %s: %v", v.name, err)
			}
			if len(vals) != len(v.columns) {
				t.Fatalf("oracle %s: %d columns, want %d", v.name, len(vals), len(v.columns))
			}
			for i := range vals {
				vals[i] = normalizeValue(vals[i])
			}
			out[v.name] = append(out[v.name], vals)
		}
		if err := rows.Err(); err != nil {
			t.Fatalf("oracle %s: %v", v.name, err)
		}
	}
	return out
}

// clickhouseRows reads every row of a view, each value scanned into the
// column's own Go type and then normalized.
func clickhouseRows(t *testing.T, ch driver.Conn, v oracleView) [][]any {
	t.Helper()
	rows, err := ch.Query(context.Background(), v.clickhouseQuery())
	if err != nil {
		t.Fatalf("%s: %v", v.clickhouseQuery(), err)
	}
	defer rows.Close()
	types := rows.ColumnTypes()
	var out [][]any
	for rows.Next() {
		ptrs := make([]any, len(types))
		for i, ct := range types {
			ptrs[i] = reflect.New(ct.ScanType()).Interface()
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatalf("%s: %v", v.name, err)
		}
		for i := range ptrs {
			ptrs[i] = normalizeValue(ptrs[i])
		}
		out = append(out, ptrs)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("%s: %v", v.name, err)
	}
	return out
}

// normalizeValue turns a scanned value into nil, int64, float64, string or
// time.Time (UTC), whatever driver and column type it came from.
func normalizeValue(v any) any {
	rv := reflect.ValueOf(v)
	for rv.IsValid() && (rv.Kind() == reflect.Pointer || rv.Kind() == reflect.Interface) {
		if rv.IsNil() {
			return nil
		}
		rv = rv.Elem()
	}
	if !rv.IsValid() {
		return nil
	}
	if tm, ok := rv.Interface().(time.Time); ok {
		return tm.UTC()
	}
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return int64(rv.Uint())
	case reflect.Float32, reflect.Float64:
		return rv.Float()
	case reflect.String:
		return rv.String()
	}
	return fmt.Sprintf("%T(%v)", rv.Interface(), rv.Interface())
}

// compareRows compares the oracle's rows with a view's, grouped by key.
// Rows sharing a key (duplicate step indexes) are compared in a canonical
// order of their values.
func compareRows(v oracleView, want, got [][]any) viewDiff {
	d := viewDiff{view: v.name, columns: len(v.columns), oracleRows: len(want), viewRows: len(got)}
	keyOf := func(row []any) string {
		parts := make([]string, v.keys)
		for i := range parts {
			parts[i] = fmt.Sprintf("%s=%s", v.columns[i], showValue(row[i]))
		}
		return strings.Join(parts, " ")
	}
	group := func(rows [][]any) (map[string][][]any, []string) {
		m := map[string][][]any{}
		var order []string
		for _, r := range rows {
			k := keyOf(r)
			if _, ok := m[k]; !ok {
				order = append(order, k)
			}
			m[k] = append(m[k], r)
		}
		for _, rs := range m {
			slices.SortFunc(rs, func(a, b []any) int { return strings.Compare(showRow(a), showRow(b)) })
		}
		return m, order
	}
	wantBy, wantOrder := group(want)
	gotBy, gotOrder := group(got)
	slices.Sort(wantOrder)
	slices.Sort(gotOrder)
	for _, k := range wantOrder {
		w, g := wantBy[k], gotBy[k]
		switch {
		case len(g) == 0:
			d.add("%s: missing from the view; oracle: %s", k, showNamed(v, w[0]))
			continue
		case len(g) > len(w):
			d.add("%s: %d rows in the view, %d in the oracle (doubled)", k, len(g), len(w))
			continue
		case len(g) < len(w):
			d.add("%s: %d rows in the view, %d in the oracle (lost)", k, len(g), len(w))
			continue
		}
		for i := range w {
			for c := v.keys; c < len(v.columns); c++ {
				if !sameValue(g[i][c], w[i][c], approxColumn(v.columns[c])) {
					d.add("%s %s: view %s, oracle %s", k, v.columns[c], showValue(g[i][c]), showValue(w[i][c]))
				}
			}
		}
	}
	for _, k := range gotOrder {
		if _, ok := wantBy[k]; !ok {
			d.add("%s: in the view, not in the oracle; view: %s", k, showNamed(v, gotBy[k][0]))
		}
	}
	return d
}

// sameValue: equal values of the same normalized type; floats may differ
// by 1e-9 relative when approx.
func sameValue(a, b any, approx bool) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	switch x := a.(type) {
	case float64:
		y, ok := b.(float64)
		if !ok {
			return false
		}
		if x == y || (math.IsNaN(x) && math.IsNaN(y)) {
			return true
		}
		return approx && math.Abs(x-y) <= 1e-9*math.Max(math.Abs(x), math.Abs(y))
	case time.Time:
		y, ok := b.(time.Time)
		return ok && x.Equal(y)
	}
	return a == b
}

func showValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case string:
		if len(x) > 100 {
			return fmt.Sprintf("%q…(%d bytes)", x[:100], len(x))
		}
		return fmt.Sprintf("%q", x)
	case time.Time:
		return x.Format("2006-01-02T15:04:05.999999Z07:00")
	case float64:
		return fmt.Sprint(x)
	}
	return fmt.Sprint(v)
}

func showRow(row []any) string {
	parts := make([]string, len(row))
	for i, v := range row {
		parts[i] = showValue(v)
	}
	return strings.Join(parts, "\x00")
}

func showNamed(v oracleView, row []any) string {
	parts := make([]string, 0, len(row))
	for i := v.keys; i < len(row); i++ {
		parts = append(parts, v.columns[i]+"="+showValue(row[i]))
	}
	return strings.Join(parts, " ")
}
