package load

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	sqlfiles "github.com/scriptstats/scriptstats/sql"
	"github.com/scriptstats/scriptstats/transform"
)

// Readers of the public views, for verify and compare: they check what
// analysts see, not the private tables.

// ViewRun is one row of the runs view.
type ViewRun struct {
	RunID           int64
	ScriptID        int64
	ScriptName      string
	Day             transform.Day
	Status          string
	StartedAt       transform.NullTime
	FinishedAt      transform.NullTime
	Duration        transform.NullFloat
	FailedStepIndex transform.NullInt32
	FailedStepName  transform.NullString
	ErrorMessage    transform.NullString
	// Steps are the run's rows of run_steps, in array order (read by Runs
	// only).
	Steps []transform.Step
}

// Cursor walks the rows of a view query in order.
type Cursor[T any] struct {
	rows driver.Rows
	scan func(driver.Rows) (T, error)
	cur  T
	err  error
}

// Next advances; false at the end or on error (see Err).
func (c *Cursor[T]) Next() bool {
	if c.err != nil || !c.rows.Next() {
		return false
	}
	c.cur, c.err = c.scan(c.rows)
	return c.err == nil
}

// Row is the current row.
func (c *Cursor[T]) Row() T { return c.cur }

// Err is the first error met.
func (c *Cursor[T]) Err() error {
	if c.err != nil {
		return c.err
	}
	return c.rows.Err()
}

// Close releases the query.
func (c *Cursor[T]) Close() { _ = c.rows.Close() }

func rangeQuery[T any](ctx context.Context, s *Sink, name, query string, from, to transform.Day, scan func(driver.Rows) (T, error)) (*Cursor[T], error) {
	qctx := clickhouse.Context(ctx, clickhouse.WithParameters(clickhouse.Parameters{
		"from": from.String(), "to": to.String(),
	}))
	rows, err := s.conn.Query(qctx, query)
	if err != nil {
		return nil, sinkErrorf("clickhouse %s: %w", name, err)
	}
	return &Cursor[T]{rows: rows, scan: scan}, nil
}

// ScriptDaily reads script_daily for days [from, to] by script, day.
func (s *Sink) ScriptDaily(ctx context.Context, from, to transform.Day) (*Cursor[transform.ScriptDay], error) {
	return rangeQuery(ctx, s, "script daily range", sqlfiles.ClickHouseSelectScriptDailyRange, from, to, func(r driver.Rows) (transform.ScriptDay, error) {
		var d transform.ScriptDay
		var day time.Time
		var avg, mn, mx, p50, p90, p95, p99, savg, sp50, sp95 *float64
		err := r.Scan(&d.ScriptID, &day, &d.Total, &d.Success, &d.Failed, &d.Timeout, &d.Cancelled, &d.Other,
			&d.SuccessRate, &d.DurationCount, &d.InvalidDuration, &avg, &mn, &mx, &p50, &p90, &p95, &p99,
			&savg, &sp50, &sp95)
		d.Day = dayOf(day)
		d.DurationAvg, d.DurationMin, d.DurationMax = nullFloat(avg), nullFloat(mn), nullFloat(mx)
		d.DurationP50, d.DurationP90, d.DurationP95, d.DurationP99 = nullFloat(p50), nullFloat(p90), nullFloat(p95), nullFloat(p99)
		d.SuccessDurationAvg, d.SuccessDurationP50, d.SuccessDurationP95 = nullFloat(savg), nullFloat(sp50), nullFloat(sp95)
		return d, err
	})
}

// StepDaily reads step_daily for days [from, to] by script, day, step.
func (s *Sink) StepDaily(ctx context.Context, from, to transform.Day) (*Cursor[transform.StepDay], error) {
	return rangeQuery(ctx, s, "step daily range", sqlfiles.ClickHouseSelectStepDailyRange, from, to, func(r driver.Rows) (transform.StepDay, error) {
		var d transform.StepDay
		var day time.Time
		var name, lastErr *string
		var lastAt *time.Time
		err := r.Scan(&d.ScriptID, &day, &d.StepIndex, &name, &d.Attempts, &d.Failures, &d.FailureRate, &lastAt, &lastErr)
		d.Day = dayOf(day)
		d.StepName, d.LastFailureAt, d.LastError = nullString(name), nullTime(lastAt), nullString(lastErr)
		return d, err
	})
}

// Runs reads the runs view for days [from, to] by script, day, run id.
func (s *Sink) Runs(ctx context.Context, from, to transform.Day) (*Cursor[ViewRun], error) {
	return rangeQuery(ctx, s, "runs range", sqlfiles.ClickHouseSelectRunsRange, from, to, func(r driver.Rows) (ViewRun, error) {
		var v ViewRun
		var day time.Time
		var started, finished *time.Time
		var dur *float64
		var fidx *int32
		var fname, emsg *string
		var idx []int32
		var names, errs []*string
		var statuses []string
		var durs []*float64
		err := r.Scan(&v.ScriptID, &day, &v.RunID, &v.Status, &started, &finished, &dur, &fidx, &fname, &emsg,
			&idx, &names, &statuses, &durs, &errs)
		if err == nil && (len(names) != len(idx) || len(statuses) != len(idx) || len(durs) != len(idx) || len(errs) != len(idx)) {
			err = fmt.Errorf("run %d: step arrays of different lengths", v.RunID)
		}
		if err == nil && len(idx) > 0 {
			v.Steps = make([]transform.Step, len(idx))
			for i := range idx {
				v.Steps[i] = transform.Step{Index: idx[i], Name: nullString(names[i]), Status: statuses[i],
					Duration: nullFloat(durs[i]), Error: nullString(errs[i])}
			}
		}
		v.Day = dayOf(day)
		v.StartedAt, v.FinishedAt, v.Duration = nullTime(started), nullTime(finished), nullFloat(dur)
		if fidx != nil {
			v.FailedStepIndex = transform.NullInt32{Int32: *fidx, Valid: true}
		}
		v.FailedStepName, v.ErrorMessage = nullString(fname), nullString(emsg)
		return v, err
	})
}

// ErrUnknownRun is returned by Run for a run id ClickHouse does not hold.
var ErrUnknownRun = errors.New("unknown run")

// RunDetail is a run with its steps, for compare.
type RunDetail struct {
	ViewRun
	Steps []transform.Step
}

// Run reads one run and its steps from the runs and run_steps views.
func (s *Sink) Run(ctx context.Context, id int64) (RunDetail, error) {
	var d RunDetail
	qctx := clickhouse.Context(ctx, clickhouse.WithParameters(clickhouse.Parameters{"run_id": fmt.Sprint(id)}))
	rows, err := s.conn.Query(qctx, sqlfiles.ClickHouseSelectRun)
	if err != nil {
		return d, sinkErrorf("clickhouse read run %d: %w", id, err)
	}
	found := false
	for rows.Next() {
		var day time.Time
		var started, finished *time.Time
		var dur *float64
		var fidx *int32
		var fname, emsg *string
		if err := rows.Scan(&d.RunID, &d.ScriptID, &d.ScriptName, &day, &d.Status, &started, &finished, &dur, &fidx, &fname, &emsg); err != nil {
			_ = rows.Close()
			return d, sinkErrorf("clickhouse read run %d: %w", id, err)
		}
		d.Day = dayOf(day)
		d.StartedAt, d.FinishedAt, d.Duration = nullTime(started), nullTime(finished), nullFloat(dur)
		if fidx != nil {
			d.FailedStepIndex = transform.NullInt32{Int32: *fidx, Valid: true}
		}
		d.FailedStepName, d.ErrorMessage = nullString(fname), nullString(emsg)
		found = true
	}
	_ = rows.Close()
	if err := rows.Err(); err != nil {
		return d, sinkErrorf("clickhouse read run %d: %w", id, err)
	}
	if !found {
		return d, fmt.Errorf("%w %d: not in ClickHouse (not loaded yet, or not in the source)", ErrUnknownRun, id)
	}
	rows, err = s.conn.Query(qctx, sqlfiles.ClickHouseSelectRunSteps)
	if err != nil {
		return d, sinkErrorf("clickhouse read steps of run %d: %w", id, err)
	}
	defer rows.Close()
	for rows.Next() {
		var st transform.Step
		var name, errText *string
		var dur *float64
		if err := rows.Scan(&st.Index, &name, &st.Status, &dur, &errText); err != nil {
			return d, sinkErrorf("clickhouse read steps of run %d: %w", id, err)
		}
		st.Name, st.Duration, st.Error = nullString(name), nullFloat(dur), nullString(errText)
		d.Steps = append(d.Steps, st)
	}
	return d, rows.Err()
}
