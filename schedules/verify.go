package schedules

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/scriptstats/scriptstats/load"
	"github.com/scriptstats/scriptstats/transform"
)

// Difference is one disagreement between the source and ClickHouse.
type Difference struct {
	View string
	Key  string
	What string
}

func (d Difference) String() string { return d.View + " " + d.Key + ": " + d.What }

// VerifyResult counts what verify compared and found.
type VerifyResult struct {
	Groups      int64
	Runs        int64
	Differences int64
}

// Verify recomputes the days [from, to] from the source, the same way a pass
// does, and compares every row of script_daily, step_daily and runs for
// those days with ClickHouse. Each difference goes to report.
func (j *Job) Verify(ctx context.Context, from, to transform.Day, report func(Difference)) (res VerifyResult, err error) {
	if to < from {
		return res, fmt.Errorf("verify: --to %s is before --from %s", to, from)
	}
	snap, err := j.Source.Begin(ctx)
	if err != nil {
		return res, err
	}
	defer func() { _ = snap.Close(ctx) }()
	if err := j.Sink.CheckSchema(ctx); err != nil {
		return res, err
	}
	st, ok, err := j.Sink.ReadState(ctx)
	if err != nil {
		return res, err
	}
	if ok && !j.sameZone(st.Timezone) {
		return res, fmt.Errorf("%w: ClickHouse holds days in %s; verify with --timezone %s", ErrTimezoneChanged, st.Timezone, st.Timezone)
	}
	days, err := j.Sink.ScriptDaily(ctx, from, to)
	if err != nil {
		return res, err
	}
	defer days.Close()
	steps, err := j.Sink.StepDaily(ctx, from, to)
	if err != nil {
		return res, err
	}
	defer steps.Close()
	runs, err := j.Sink.Runs(ctx, from, to)
	if err != nil {
		return res, err
	}
	defer runs.Close()
	c := &comparer{
		report: func(d Difference) { res.Differences++; report(d) },
		days: newPeek(days, func(d transform.ScriptDay) transform.GroupKey {
			return transform.GroupKey{ScriptID: d.ScriptID, Day: d.Day}
		}),
		steps: newPeek(steps, func(d transform.StepDay) transform.GroupKey {
			return transform.GroupKey{ScriptID: d.ScriptID, Day: d.Day}
		}),
		runs: newPeek(runs, func(r load.ViewRun) transform.GroupKey { return transform.GroupKey{ScriptID: r.ScriptID, Day: r.Day} }),
	}
	// Runs come by script, then time. Their days follow that order but
	// where a date comes back (transform.DaysSpan): in such a zone the
	// groups of a script stay open until a run two days later closes them,
	// and are compared in (script, day) order.
	var slack transform.Day
	if transform.DatesComeBack(j.Zone) {
		slack = 2
	}
	var open []verifyGroup
	var done transform.GroupKey // the last group compared
	started := false
	flush := func(before transform.GroupKey) {
		n := 0
		for _, g := range open {
			if !keyLess(g.key, before) {
				break
			}
			res.Groups++
			res.Runs += int64(len(g.runs))
			c.group(g.key, g.runs)
			done, started = g.key, true
			n++
		}
		open = open[n:]
	}
	lo, hi := transform.DaysSpan(from, to, j.Zone)
	var norm transform.Normalizer
	err = snap.RunsBetween(ctx, lo, hi, j.Limits.ErrorBytes, func(src *transform.SourceRun) error {
		run, _, ok := norm.Normalize(*src, j.Zone, j.Limits)
		if !ok || run.Day < from || run.Day > to {
			return nil
		}
		k := run.Key()
		if started && !keyLess(done, k) {
			return fmt.Errorf("verify: run %d (%s) comes after the group was compared: the dates of %s go back more than two days", run.ID, groupName(k), j.ZoneName)
		}
		flush(transform.GroupKey{ScriptID: k.ScriptID, Day: k.Day - slack})
		i, found := slices.BinarySearchFunc(open, k, func(g verifyGroup, k transform.GroupKey) int {
			if g.key == k {
				return 0
			}
			if keyLess(g.key, k) {
				return -1
			}
			return 1
		})
		if !found {
			open = slices.Insert(open, i, verifyGroup{key: k})
		}
		open[i].runs = append(open[i].runs, run)
		return nil
	})
	if err != nil {
		return res, err
	}
	flush(transform.GroupKey{ScriptID: math.MaxInt64, Day: math.MaxInt32})
	c.rest()
	for _, e := range []error{days.Err(), steps.Err(), runs.Err()} {
		if e != nil {
			return res, fmt.Errorf("clickhouse read views: %w", e)
		}
	}
	return res, nil
}

// verifyGroup is one (script, day) group of source runs not compared yet.
type verifyGroup struct {
	key  transform.GroupKey
	runs []transform.Run
}

// peek is a cursor with one row of look-ahead.
type peek[T any] struct {
	c   *load.Cursor[T]
	key func(T) transform.GroupKey
	row T
	ok  bool
}

func newPeek[T any](c *load.Cursor[T], key func(T) transform.GroupKey) *peek[T] {
	p := &peek[T]{c: c, key: key}
	p.advance()
	return p
}

func (p *peek[T]) advance() { p.ok = p.c.Next(); p.row = p.c.Row() }

// takeBefore calls fn for every row of a group before k and consumes it.
func (p *peek[T]) takeBefore(k transform.GroupKey, fn func(T)) {
	for p.ok && keyLess(p.key(p.row), k) {
		fn(p.row)
		p.advance()
	}
}

// takeGroup returns the rows of group k.
func (p *peek[T]) takeGroup(k transform.GroupKey) []T {
	var out []T
	for p.ok && p.key(p.row) == k {
		out = append(out, p.row)
		p.advance()
	}
	return out
}

func keyLess(a, b transform.GroupKey) bool {
	if a.ScriptID != b.ScriptID {
		return a.ScriptID < b.ScriptID
	}
	return a.Day < b.Day
}

func groupName(k transform.GroupKey) string {
	return fmt.Sprintf("script_id=%d day=%s", k.ScriptID, k.Day)
}

type comparer struct {
	report func(Difference)
	days   *peek[transform.ScriptDay]
	steps  *peek[transform.StepDay]
	runs   *peek[load.ViewRun]
}

func (c *comparer) extra(k transform.GroupKey) {
	c.days.takeBefore(k, func(d transform.ScriptDay) {
		c.report(Difference{"script_daily", groupName(transform.GroupKey{ScriptID: d.ScriptID, Day: d.Day}), "in ClickHouse, not in the source"})
	})
	c.steps.takeBefore(k, func(d transform.StepDay) {
		c.report(Difference{"step_daily", fmt.Sprintf("script_id=%d day=%s step_index=%d", d.ScriptID, d.Day, d.StepIndex), "in ClickHouse, not in the source"})
	})
	c.runs.takeBefore(k, func(r load.ViewRun) {
		c.report(Difference{"runs", fmt.Sprintf("run_id=%d", r.RunID), fmt.Sprintf("in ClickHouse (%s), not in the source", groupName(transform.GroupKey{ScriptID: r.ScriptID, Day: r.Day}))})
	})
}

// rest reports every ClickHouse row after the last source group.
func (c *comparer) rest() {
	c.extra(transform.GroupKey{ScriptID: math.MaxInt64, Day: math.MaxInt32})
}

func (c *comparer) group(k transform.GroupKey, runs []transform.Run) {
	c.extra(k)
	name := groupName(k)
	want, has, wantSteps := transform.Aggregate(runs)
	want.ScriptID, want.Day = k.ScriptID, k.Day
	got := c.days.takeGroup(k)
	switch {
	case has && len(got) == 0:
		c.report(Difference{"script_daily", name, "missing in ClickHouse"})
	case !has && len(got) > 0:
		c.report(Difference{"script_daily", name, "in ClickHouse, but the source has no counted run"})
	case has:
		for _, f := range diffScriptDay(want, got[0]) {
			c.report(Difference{"script_daily", name, f})
		}
		if len(got) > 1 {
			c.report(Difference{"script_daily", name, fmt.Sprintf("%d rows in ClickHouse", len(got))})
		}
	}
	c.compareSteps(k, wantSteps, c.steps.takeGroup(k))
	c.compareRuns(runs, c.runs.takeGroup(k))
}

func (c *comparer) compareSteps(k transform.GroupKey, want, got []transform.StepDay) {
	i, g := 0, 0
	for i < len(want) || g < len(got) {
		switch {
		case g >= len(got) || (i < len(want) && want[i].StepIndex < got[g].StepIndex):
			c.report(Difference{"step_daily", stepName(k, want[i].StepIndex), "missing in ClickHouse"})
			i++
		case i >= len(want) || got[g].StepIndex < want[i].StepIndex:
			c.report(Difference{"step_daily", stepName(k, got[g].StepIndex), "in ClickHouse, not in the source"})
			g++
		default:
			for _, f := range diffStepDay(want[i], got[g]) {
				c.report(Difference{"step_daily", stepName(k, want[i].StepIndex), f})
			}
			i++
			g++
		}
	}
}

func stepName(k transform.GroupKey, idx int32) string {
	return fmt.Sprintf("%s step_index=%d", groupName(k), idx)
}

func (c *comparer) compareRuns(want []transform.Run, got []load.ViewRun) {
	slices.SortFunc(want, func(a, b transform.Run) int { return cmp.Compare(a.ID, b.ID) })
	i, g := 0, 0
	for i < len(want) || g < len(got) {
		switch {
		case g >= len(got) || (i < len(want) && want[i].ID < got[g].RunID):
			c.report(Difference{"runs", fmt.Sprintf("run_id=%d", want[i].ID), "missing in ClickHouse"})
			i++
		case i >= len(want) || got[g].RunID < want[i].ID:
			c.report(Difference{"runs", fmt.Sprintf("run_id=%d", got[g].RunID), "in ClickHouse, not in the source (deleted?)"})
			g++
		default:
			for _, f := range diffRun(&want[i], &got[g]) {
				c.report(Difference{"runs", fmt.Sprintf("run_id=%d", want[i].ID), f})
			}
			i++
			g++
		}
	}
}
