package main

import (
	"cmp"
	"context"
	_ "embed"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/scriptstats/scriptstats/transform"
)

// The detection oracle: duration_changes and step_health recomputed from
// the source — the series read by independent PostgreSQL SQL (the oracle's
// ref_runs and ref_steps, testdata/detection_series.sql), never through
// the job's extract or load — with the pure definitions of transform
// (DetectChanges over each whole series, ClassifyStepHealth as of the
// view's as_of), and compared row by row with ClickHouse.

//go:embed testdata/detection_series.sql
var detectionSeriesSQL string

type refStep struct {
	index    int32
	status   string
	duration *float64
	name     *string
	errText  *string
}

type refRun struct {
	scriptID        int64
	id              int64
	orderedAt       time.Time
	day             transform.Day
	status          string
	duration        *float64
	failureAtUS     int64
	failureAtStored *time.Time
	steps           []refStep
}

// readRefRuns returns the counted runs of every script, in series order.
func readRefRuns(t *testing.T, pool *pgxpool.Pool, tz string) map[int64][]refRun {
	t.Helper()
	ctx := context.Background()
	tx, err := pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if _, err := tx.Exec(ctx, `SELECT set_config('scriptstats.tz', $1, true),
		set_config('scriptstats.error_bytes', $2, true), set_config('scriptstats.name_bytes', $3, true)`,
		tz, fmt.Sprint(oracleErrorBytes), fmt.Sprint(oracleNameBytes)); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, oracleSetupSQL); err != nil {
		t.Fatalf("oracle setup: %v", err)
	}
	rows, err := tx.Query(ctx, detectionSeriesSQL)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[int64][]refRun{}
	for rows.Next() {
		var (
			r        refRun
			orderedU int64
			day      time.Time
			stIndex  *int32
			st       refStep
			stStatus *string
		)
		if err := rows.Scan(&r.scriptID, &r.id, &orderedU, &day, &r.status, &r.duration, &r.failureAtUS,
			&r.failureAtStored, &stIndex, &stStatus, &st.duration, &st.name, &st.errText); err != nil {
			t.Fatal(err)
		}
		r.orderedAt = time.UnixMicro(orderedU).UTC()
		y, m, d := day.Date()
		r.day = transform.DayFromDate(y, m, d)
		list := out[r.scriptID]
		if n := len(list); n == 0 || list[n-1].id != r.id {
			list = append(list, r)
		}
		if stIndex != nil {
			st.index, st.status = *stIndex, *stStatus
			list[len(list)-1].steps = append(list[len(list)-1].steps, st)
		}
		out[r.scriptID] = list
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func finiteNonNeg(p *float64) bool {
	return p != nil && !math.IsNaN(*p) && !math.IsInf(*p, 0) && *p >= 0
}

// expectedChanges is duration_changes by the definitions; the key of a row
// is "script/step/run" (step "runs": whole runs; any integer is a step,
// negative ones too). A step of index −2147483648 has no series and is
// never the top step: that index is the job's key of the run series
// (docs/detection.md, "Step indexes").
func expectedChanges(t *testing.T, runs map[int64][]refRun, opt transform.ChangeOptions) map[string][]any {
	t.Helper()
	out := map[string][]any{}
	for script, rs := range runs {
		type ser struct {
			values []float64
			days   []transform.Day
			pos    []int // run position of each value
		}
		runSeries := &ser{}
		all := map[int32]*ser{}
		for i, r := range rs {
			if r.status == "success" && r.duration != nil {
				s := runSeries
				s.values, s.days, s.pos = append(s.values, *r.duration), append(s.days, r.day), append(s.pos, i)
			}
			for _, st := range r.steps {
				if st.status == "success" && finiteNonNeg(st.duration) && st.index != math.MinInt32 {
					s := all[st.index]
					if s == nil {
						s = &ser{}
						all[st.index] = s
					}
					s.values, s.days, s.pos = append(s.values, *st.duration), append(s.days, r.day), append(s.pos, i)
				}
			}
		}
		type oneSeries struct {
			label string
			step  int32
			s     *ser
		}
		list := []oneSeries{{"runs", 0, runSeries}}
		for step, s := range all {
			list = append(list, oneSeries{fmt.Sprint(step), step, s})
		}
		for _, one := range list {
			step, s := one.step, one.s
			cps, err := transform.DetectChanges(s.values, s.days, opt)
			if err != nil {
				t.Fatal(err)
			}
			for _, cp := range cps {
				i := cp.Index
				run, prev := rs[s.pos[i]], rs[s.pos[i-1]]
				window := s.pos[i-cp.RunsBefore : i+cp.RunsAfter]
				var stepName, topName any
				var topIdx, topDelta any
				if one.s != runSeries {
					stepName = refLatestName(rs, window, step)
				} else {
					before := refStepValues(rs, s.pos[i-cp.RunsBefore:i])
					after := refStepValues(rs, s.pos[i:i+cp.RunsAfter])
					idxs := make([]int32, 0, len(after))
					for k := range after {
						idxs = append(idxs, k)
					}
					slices.Sort(idxs)
					best, bestD, found := int32(0), 0.0, false
					for _, k := range idxs {
						if len(before[k]) == 0 {
							continue
						}
						ma, _ := transform.Median(after[k])
						mb, _ := transform.Median(before[k])
						if d := ma - mb; !found || math.Abs(d) > math.Abs(bestD) {
							best, bestD, found = k, d, true
						}
					}
					if found {
						topIdx, topDelta, topName = int64(best), bestD, refLatestName(rs, window, best)
					}
				}
				key := fmt.Sprintf("%d/%s/%d", script, one.label, run.id)
				out[key] = []any{prev.id, run.day.String(), run.orderedAt.UnixMicro(), int64(cp.RunsBefore), int64(cp.RunsAfter),
					cp.MedianBefore, cp.MedianAfter, cp.Ratio, cp.P, cp.Effect, string(cp.Direction),
					stepName, topIdx, topName, topDelta}
			}
		}
	}
	return out
}

func refStepValues(rs []refRun, which []int) map[int32][]float64 {
	out := map[int32][]float64{}
	for _, i := range which {
		for _, st := range rs[i].steps {
			if st.status == "success" && finiteNonNeg(st.duration) && st.index != math.MinInt32 {
				out[st.index] = append(out[st.index], *st.duration)
			}
		}
	}
	return out
}

func refLatestName(rs []refRun, which []int, step int32) any {
	var name any
	for _, i := range which {
		for _, st := range rs[i].steps {
			if st.index == step && st.name != nil {
				name = *st.name
			}
		}
	}
	return name
}

// actualChanges reads duration_changes in the same shape.
func actualChanges(t *testing.T, ch driver.Conn) map[string][]any {
	t.Helper()
	rows, err := ch.Query(context.Background(), `SELECT script_id, if(step_index IS NULL, 'runs', toString(step_index)), run_id, previous_run_id,
		toString(day), toUnixTimestamp64Micro(changed_at), runs_before, runs_after, median_before, median_after, ratio,
		p_value, effect_size, direction, step_name, top_step_index, top_step_name, top_step_delta FROM duration_changes`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string][]any{}
	for rows.Next() {
		var (
			script, run           int64
			step                  string
			prev                  *int64
			day                   string
			changed               *int64
			nb, na                uint64
			mb, ma, ratio, p, eff float64
			dir                   string
			stepName, topName     *string
			topIdx                *int32
			topDelta              *float64
		)
		if err := rows.Scan(&script, &step, &run, &prev, &day, &changed, &nb, &na, &mb, &ma, &ratio, &p, &eff, &dir,
			&stepName, &topIdx, &topName, &topDelta); err != nil {
			t.Fatal(err)
		}
		key := fmt.Sprintf("%d/%s/%d", script, step, run)
		if _, dup := out[key]; dup {
			t.Errorf("duration_changes: row %s twice", key)
		}
		row := []any{derefAny(prev), day, derefAny(changed), int64(nb), int64(na), mb, ma, ratio, p, eff, dir,
			derefAny(stepName), nil, derefAny(topName), derefAny(topDelta)}
		if topIdx != nil {
			row[12] = int64(*topIdx)
		}
		out[key] = row
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func derefAny[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

// expectedHealth is step_health by the definitions as of asOf; key
// "script/step".
func expectedHealth(runs map[int64][]refRun, asOf time.Time, loc *time.Location) map[string][]any {
	out := map[string][]any{}
	from := asOf.Add(-transform.HealthWindow)
	for script, rs := range runs {
		type acc struct {
			execs    []transform.StepExecution
			inWindow int
			name     any
			hasFail  bool
			failUS   int64
			failRun  int64
			failAt   any
			failErr  any
		}
		steps := map[int32]*acc{}
		for _, r := range rs {
			in := !r.orderedAt.Before(from) && !r.orderedAt.After(asOf)
			for _, st := range r.steps {
				if st.status != "success" && st.status != "failed" {
					continue
				}
				a := steps[st.index]
				if a == nil {
					a = &acc{}
					steps[st.index] = a
				}
				failed := st.status == "failed"
				a.execs = append(a.execs, transform.StepExecution{At: r.orderedAt, RunID: r.id, Failed: failed})
				if !in {
					continue
				}
				a.inWindow++
				if st.name != nil {
					a.name = *st.name
				}
				if failed && (!a.hasFail || r.failureAtUS > a.failUS || (r.failureAtUS == a.failUS && r.id >= a.failRun)) {
					a.hasFail, a.failUS, a.failRun = true, r.failureAtUS, r.id
					a.failAt, a.failErr = nil, nil
					if r.failureAtStored != nil {
						a.failAt = r.failureAtStored.UTC().UnixMicro()
					}
					if st.errText != nil {
						a.failErr = *st.errText
					}
				}
			}
		}
		for idx, a := range steps {
			if a.inWindow == 0 {
				continue
			}
			h := transform.ClassifyStepHealth(a.execs, asOf, loc)
			var since any
			if h.Since.Valid {
				since = h.Since.Time.UTC().UnixMicro()
			}
			out[fmt.Sprintf("%d/%d", script, idx)] = []any{a.name, string(h.State), since, int64(h.Executions),
				int64(h.Failures), nullF(h.FailureRate), nullF(h.FailureRateLow), nullF(h.FailureRateHigh),
				nullF(h.FlipRate), a.failAt, a.failErr}
		}
	}
	return out
}

func nullF(v transform.NullFloat) any {
	if !v.Valid {
		return nil
	}
	return v.Float64
}

// actualHealth reads step_health and its as_of.
func actualHealth(t *testing.T, ch driver.Conn) (map[string][]any, time.Time) {
	t.Helper()
	ctx := context.Background()
	var asOf time.Time
	if err := ch.QueryRow(ctx, "SELECT max(as_of) FROM detection_as_of").Scan(&asOf); err != nil {
		t.Fatal(err)
	}
	rows, err := ch.Query(ctx, `SELECT script_id, step_index, step_name, state, toUnixTimestamp64Micro(since), executions,
		failures, failure_rate, failure_rate_low, failure_rate_high, flip_rate, toUnixTimestamp64Micro(last_failure_at),
		last_error, as_of FROM step_health`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string][]any{}
	for rows.Next() {
		var (
			script               int64
			step                 int32
			name, lastErr        *string
			state                string
			since, lastAt        *int64
			execs, fails         uint64
			rate, low, high, flp *float64
			rowAsOf              time.Time
		)
		if err := rows.Scan(&script, &step, &name, &state, &since, &execs, &fails, &rate, &low, &high, &flp, &lastAt,
			&lastErr, &rowAsOf); err != nil {
			t.Fatal(err)
		}
		if !rowAsOf.Equal(asOf) {
			t.Errorf("step_health as_of %v, the latest pass's is %v", rowAsOf, asOf)
		}
		key := fmt.Sprintf("%d/%d", script, step)
		if _, dup := out[key]; dup {
			t.Errorf("step_health: row %s twice", key)
		}
		out[key] = []any{derefAny(name), state, derefAny(since), int64(execs), int64(fails), derefAny(rate),
			derefAny(low), derefAny(high), derefAny(flp), derefAny(lastAt), derefAny(lastErr)}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out, asOf.UTC()
}

// compareKeyed compares two keyed row sets; floats with a relative
// tolerance of 1e-9 (medians and p-values are computed the same way, the
// tolerance only absorbs the Wilson bounds' order of operations).
func compareKeyed(view string, want, got map[string][]any) []string {
	var out []string
	keys := make([]string, 0, len(want)+len(got))
	for k := range want {
		keys = append(keys, k)
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b string) int { return cmp.Compare(a, b) })
	for _, k := range keys {
		w, okW := want[k]
		g, okG := got[k]
		switch {
		case !okG:
			out = append(out, fmt.Sprintf("%s: missing row %s %v", view, k, w))
		case !okW:
			out = append(out, fmt.Sprintf("%s: extra row %s %v", view, k, g))
		default:
			for i := range w {
				if !sameDetectionValue(w[i], g[i]) {
					out = append(out, fmt.Sprintf("%s: row %s column %d: want %v, got %v", view, k, i, w[i], g[i]))
				}
			}
		}
	}
	return out
}

func sameDetectionValue(a, b any) bool {
	fa, okA := a.(float64)
	fb, okB := b.(float64)
	if okA && okB {
		if math.IsInf(fa, 0) || math.IsInf(fb, 0) {
			return fa == fb
		}
		return math.Abs(fa-fb) <= 1e-9*math.Max(1, math.Max(math.Abs(fa), math.Abs(fb)))
	}
	return a == b
}

// assertDetectionMatchesSource fails when duration_changes or step_health
// differ from the recomputation from the source. It returns the number of
// change points and of unhealthy steps, for the caller's sanity checks.
func assertDetectionMatchesSource(t *testing.T, stage string, pool *pgxpool.Pool, ch driver.Conn, tz string, opt transform.ChangeOptions) (changes, unhealthy int) {
	t.Helper()
	loc, err := time.LoadLocation(tz)
	if err != nil {
		t.Fatal(err)
	}
	runs := readRefRuns(t, pool, tz)
	wantC := expectedChanges(t, runs, opt)
	gotC := actualChanges(t, ch)
	gotH, asOf := actualHealth(t, ch)
	if asOf.IsZero() || asOf.After(time.Now().Add(time.Minute)) {
		t.Fatalf("%s: step_health as_of %v", stage, asOf)
	}
	wantH := expectedHealth(runs, asOf, loc)
	// The change point's changed_at column is checked apart: the
	// expectation holds its microseconds at index 2.
	diffs := append(compareKeyed("duration_changes", wantC, gotC), compareKeyed("step_health", wantH, gotH)...)
	if len(diffs) > 0 {
		if len(diffs) > 30 {
			diffs = append(diffs[:30], fmt.Sprintf("… and %d more", len(diffs)-30))
		}
		t.Fatalf("%s: detection differs from the source:\n%s", stage, strings.Join(diffs, "\n"))
	}
	for _, h := range wantH {
		if h[1] != string(transform.Healthy) {
			unhealthy++
		}
	}
	t.Logf("%s: detection equals the source (%d change points, %d steps, %d not healthy, as of %v)",
		stage, len(wantC), len(wantH), unhealthy, asOf)
	return len(wantC), unhealthy
}
