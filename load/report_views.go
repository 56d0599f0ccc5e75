package load

import (
	"context"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/scriptstats/scriptstats/load/report"
	sqlfiles "github.com/scriptstats/scriptstats/sql"
	"github.com/scriptstats/scriptstats/transform"
)

// Readers of the public views for `scriptstats report`. The detection
// views are read only when they exist (see DetectionObjects).

// ReportQuery narrows a report.
type ReportQuery struct {
	From, To transform.Day
	// Script is a script id or exact name; "" for every script.
	Script string
	// FailingRuns is how many of each script's latest failing runs to compare.
	FailingRuns int
}

// DetectionObjects tells which detection views and columns exist.
func (s *Sink) DetectionObjects(ctx context.Context) (report.Detection, error) {
	var d report.Detection
	rows, err := s.conn.Query(ctx, sqlfiles.ClickHouseReportDetectionObjects)
	if err != nil {
		return d, sinkErrorf("clickhouse list detection views: %w", err)
	}
	defer rows.Close()
	have := map[string]bool{}
	for rows.Next() {
		var kind, name string
		if err := rows.Scan(&kind, &name); err != nil {
			return d, sinkErrorf("clickhouse list detection views: %w", err)
		}
		have[name] = true
	}
	if err := rows.Err(); err != nil {
		return d, sinkErrorf("clickhouse list detection views: %w", err)
	}
	d.Drops, d.Changes, d.StepHealth = have["success_rate_drops"], have["duration_changes"], have["step_health"]
	d.WilsonViews = have["script_daily.success_rate_low"] && have["script_daily.success_rate_high"]
	return d, nil
}

// ReportData reads everything a report shows (all but the generation time,
// the zone and the freshness, which the caller knows).
func (s *Sink) ReportData(ctx context.Context, q ReportQuery) (report.Data, error) {
	d := report.Data{From: q.From, To: q.To, ScriptFilter: q.Script}
	det, err := s.DetectionObjects(ctx)
	if err != nil {
		return d, err
	}
	d.Detection = det
	// An early return cancels the reader of the failing runs (see below).
	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	params := clickhouse.Parameters{"from": q.From.String(), "to": q.To.String(), "script": q.Script,
		"per_script": strconv.Itoa(max(q.FailingRuns, 0))}
	qctx := clickhouse.Context(ctx, clickhouse.WithParameters(params))
	// The failing runs and their steps (the slowest reads: run_vs_previous
	// orders every run) are read while the daily series are.
	var failing []scriptRun
	var failingErr error
	if q.FailingRuns > 0 {
		wg.Go(func() { failing, failingErr = s.reportFailingRuns(qctx, ctx) })
	}
	byID := map[int64]*report.Script{}
	var order []int64
	script := func(id int64) *report.Script {
		sc, ok := byID[id]
		if !ok {
			sc = &report.Script{ID: id}
			byID[id] = sc
			order = append(order, id)
		}
		return sc
	}

	query := sqlfiles.ClickHouseReportScriptDaily
	if det.WilsonViews {
		query = sqlfiles.ClickHouseReportScriptDailyWilson
	}
	err = s.each(qctx, "report script daily", query, func(r driver.Rows) error {
		var id int64
		var sname string
		var day time.Time
		var x report.Day
		var p50, p95, lo, hi *float64
		dest := []any{&id, &sname, &day, &x.Total, &x.Success, &x.SuccessRate, &p50, &p95}
		if det.WilsonViews {
			dest = append(dest, &lo, &hi)
		}
		if err := r.Scan(dest...); err != nil {
			return err
		}
		x.Day, x.DurationP50, x.DurationP95 = dayOf(day), nullFloat(p50), nullFloat(p95)
		if det.WilsonViews {
			x.Low, x.High = orNaN(lo), orNaN(hi)
		} else {
			x.Low, x.High = report.Wilson(x.Success, x.Total)
		}
		sc := script(id)
		sc.Name = sname // rows are by day: the latest name wins
		sc.Days = append(sc.Days, x)
		return nil
	})
	if err != nil {
		return d, err
	}

	err = s.each(qctx, "report step daily", sqlfiles.ClickHouseReportStepDaily, func(r driver.Rows) error {
		var id int64
		var idx int32
		var sname *string
		var day time.Time
		var x report.StepDay
		if err := r.Scan(&id, &idx, &sname, &day, &x.Attempts, &x.Failures, &x.FailureRate); err != nil {
			return err
		}
		x.Day = dayOf(day)
		sc, ok := byID[id]
		if !ok { // a step row always has its script row; keep it anyway
			sc = script(id)
		}
		if n := len(sc.Steps); n == 0 || sc.Steps[n-1].Index != idx {
			sc.Steps = append(sc.Steps, report.StepSeries{Index: idx})
		}
		st := &sc.Steps[len(sc.Steps)-1]
		if sname != nil {
			st.Name = nullString(sname) // by day: the latest non-null name wins
		}
		st.Days = append(st.Days, x)
		return nil
	})
	if err != nil {
		return d, err
	}

	if det.Drops {
		err = s.each(qctx, "report drops", sqlfiles.ClickHouseReportDrops, func(r driver.Rows) error {
			var id int64
			var day time.Time
			var x report.Drop
			var rate, lo, hi, brate, blo, bhi *float64
			if err := r.Scan(&id, &day, &x.Total, &rate, &lo, &hi, &x.BaselineRuns, &brate, &blo, &bhi); err != nil {
				return err
			}
			x.Day = dayOf(day)
			x.SuccessRate, x.Low, x.High = orNaN(rate), orNaN(lo), orNaN(hi)
			x.BaselineRate, x.BaselineLow, x.BaselineHigh = orNaN(brate), orNaN(blo), orNaN(bhi)
			if sc, ok := byID[id]; ok {
				sc.Drops = append(sc.Drops, x)
			}
			return nil
		})
		if err != nil {
			return d, err
		}
	}
	if det.Changes {
		err = s.each(qctx, "report changes", sqlfiles.ClickHouseReportChanges, func(r driver.Rows) error {
			var id int64
			var idx, topIdx *int32
			var sname, topName *string
			var prev *int64
			var at *time.Time
			var day time.Time
			var x report.Change
			var mb, ma, ratio, p, eff, topDelta *float64
			if err := r.Scan(&id, &idx, &sname, &x.RunID, &prev, &at, &day, &x.RunsBefore, &x.RunsAfter,
				&mb, &ma, &ratio, &p, &eff, &x.Direction, &topIdx, &topName, &topDelta); err != nil {
				return err
			}
			x.StepIndex, x.StepName, x.TopStepIndex, x.TopStepName = nullInt32(idx), nullString(sname), nullInt32(topIdx), nullString(topName)
			if prev != nil {
				x.PreviousRunID = *prev
			}
			if at != nil {
				x.ChangedAt = *at
			}
			x.Day = dayOf(day)
			x.MedianBefore, x.MedianAfter, x.Ratio, x.PValue, x.EffectSize = orNaN(mb), orNaN(ma), orNaN(ratio), orNaN(p), orNaN(eff)
			x.TopStepDelta = nullFloat(topDelta)
			if sc, ok := byID[id]; ok {
				sc.Changes = append(sc.Changes, x)
			}
			return nil
		})
		if err != nil {
			return d, err
		}
	}
	if det.StepHealth {
		err = s.each(qctx, "report step health", sqlfiles.ClickHouseReportStepHealth, func(r driver.Rows) error {
			var id int64
			var x report.StepHealth
			var sname, lastErr *string
			var since, lastAt *time.Time
			var rate, lo, hi, flip *float64
			if err := r.Scan(&id, &x.StepIndex, &sname, &x.State, &since, &x.Executions, &x.Failures,
				&rate, &lo, &hi, &flip, &lastAt, &lastErr); err != nil {
				return err
			}
			x.StepName, x.Since, x.LastFailureAt, x.LastError = nullString(sname), nullTime(since), nullTime(lastAt), nullString(lastErr)
			x.FailureRate, x.FailureRateLow, x.FailureRateHigh, x.FlipRate = orNaN(rate), orNaN(lo), orNaN(hi), orNaN(flip)
			if sc, ok := byID[id]; ok { // scripts with no run in the period are not in the report
				sc.Health = append(sc.Health, x)
			}
			return nil
		})
		if err != nil {
			return d, err
		}
		for _, sc := range byID {
			sort.SliceStable(sc.Health, func(i, j int) bool {
				return healthOrder(sc.Health[i].State) < healthOrder(sc.Health[j].State)
			})
		}
	}
	wg.Wait()
	if failingErr != nil {
		return d, failingErr
	}
	for _, r := range failing {
		if sc, ok := byID[r.script]; ok {
			sc.FailingRuns = append(sc.FailingRuns, r.run)
		}
	}
	for _, id := range order {
		d.Scripts = append(d.Scripts, *byID[id])
	}
	return d, nil
}

// healthOrder lists the worst states first.
func healthOrder(state string) int {
	for i, s := range []string{"broken", "newly_failing", "flaky", "recovered", "healthy"} {
		if s == state {
			return i
		}
	}
	return 5
}

// reportFailingRuns reads the latest failing runs with the run before each
// (run_vs_previous), both runs' steps, and compares them as compare does.
func (s *Sink) reportFailingRuns(qctx, ctx context.Context) ([]scriptRun, error) {
	type failing struct {
		run      report.RunInfo
		script   int64
		previous *report.RunInfo
	}
	var runs []failing
	err := s.each(qctx, "report failing runs", sqlfiles.ClickHouseReportFailingRuns, func(r driver.Rows) error {
		var f failing
		var day time.Time
		var started *time.Time
		var dur *float64
		var emsg *string
		if err := r.Scan(&f.run.RunID, &f.script, &day, &f.run.Status, &started, &dur, &emsg); err != nil {
			return err
		}
		f.run.Day, f.run.StartedAt, f.run.Duration, f.run.ErrorMessage = dayOf(day), nullTime(started), nullFloat(dur), nullString(emsg)
		runs = append(runs, f)
		return nil
	})
	if err != nil || len(runs) == 0 {
		return nil, err
	}
	var failingIDs, scripts []int64
	seen := map[int64]bool{}
	for _, f := range runs {
		failingIDs = append(failingIDs, f.run.RunID)
		if !seen[f.script] {
			seen[f.script] = true
			scripts = append(scripts, f.script)
		}
	}
	previous := map[int64]*report.RunInfo{}
	pctx := clickhouse.Context(ctx, clickhouse.WithParameters(clickhouse.Parameters{"ids": int64List(failingIDs), "scripts": int64List(scripts)}))
	err = s.each(pctx, "report previous runs", sqlfiles.ClickHouseReportPreviousRuns, func(r driver.Rows) error {
		var id int64
		var prev *int64
		var status *string
		var dur *float64
		if err := r.Scan(&id, &prev, &status, &dur); err != nil {
			return err
		}
		if prev != nil {
			p := &report.RunInfo{RunID: *prev, Duration: nullFloat(dur)}
			if status != nil {
				p.Status = *status
			}
			previous[id] = p
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for i := range runs {
		runs[i].previous = previous[runs[i].run.RunID]
	}
	ids := make([]int64, 0, 2*len(runs))
	for _, f := range runs {
		ids = append(ids, f.run.RunID)
		if f.previous != nil {
			ids = append(ids, f.previous.RunID)
		}
	}
	steps := map[int64][]transform.Step{}
	sctx := clickhouse.Context(ctx, clickhouse.WithParameters(clickhouse.Parameters{"ids": int64List(ids)}))
	err = s.each(sctx, "report run steps by id", sqlfiles.ClickHouseReportRunStepsById, func(r driver.Rows) error {
		var id int64
		var st transform.Step
		var name, errText *string
		var dur *float64
		if err := r.Scan(&id, &st.Index, &name, &st.Status, &dur, &errText); err != nil {
			return err
		}
		st.Name, st.Duration, st.Error = nullString(name), nullFloat(dur), nullString(errText)
		steps[id] = append(steps[id], st)
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]scriptRun, 0, len(runs))
	for _, f := range runs {
		fr := report.FailingRun{Run: f.run, Previous: f.previous}
		var prevSteps []transform.Step
		var prevDur transform.NullFloat
		if f.previous != nil {
			prevSteps, prevDur = steps[f.previous.RunID], f.previous.Duration
		}
		fr.Comparison = transform.CompareSteps(prevSteps, steps[f.run.RunID], prevDur, f.run.Duration)
		out = append(out, scriptRun{script: f.script, run: fr})
	}
	return out, nil
}

// scriptRun is a failing run of a script.
type scriptRun struct {
	script int64
	run    report.FailingRun
}

// each runs a report query and calls f on every row.
func (s *Sink) each(ctx context.Context, name, query string, f func(driver.Rows) error) error {
	rows, err := s.conn.Query(ctx, query)
	if err != nil {
		return sinkErrorf("clickhouse %s: %w", name, err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := f(rows); err != nil {
			return sinkErrorf("clickhouse %s: %w", name, err)
		}
	}
	if err := rows.Err(); err != nil {
		return sinkErrorf("clickhouse %s: %w", name, err)
	}
	return nil
}

// int64List formats ids as a ClickHouse Array(Int64) parameter value.
func int64List(ids []int64) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, id := range ids {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatInt(id, 10))
	}
	b.WriteByte(']')
	return b.String()
}

func orNaN(p *float64) float64 {
	if p == nil {
		return math.NaN()
	}
	return *p
}

func nullInt32(p *int32) transform.NullInt32 {
	if p == nil {
		return transform.NullInt32{}
	}
	return transform.NullInt32{Int32: *p, Valid: true}
}
