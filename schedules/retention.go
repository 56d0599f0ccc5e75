package schedules

import (
	"context"
	"fmt"

	"github.com/scriptstats/scriptstats/load"
	"github.com/scriptstats/scriptstats/transform"
)

// Retention of the per-run rows (--keep-runs-days N; docs/performance.md,
// "Retention"). The runs_state, runs_by_id and run_links tables are
// partitioned by month of the run's day; a month is dropped whole once its
// last day is more than N days before today. The aggregates (groups_state)
// are kept for every day, exactly as computed while the month's runs were
// still stored: the days of dropped months are frozen. An incremental pass
// ignores source changes to runs of frozen days (counted in the pass's log
// as skipped_frozen_days) and never recomputes their groups, which would
// need the dropped runs; `backfill` over such days reads them again from
// the source, recomputes their groups exactly and the next drop removes the
// runs again.

// runsKeptFrom is the first day whose runs --keep-runs-days keeps now: the
// first day of the month that holds today − N. ok is false without
// retention.
func (j *Job) runsKeptFrom() (day transform.Day, ok bool) {
	if j.KeepRunsDays <= 0 {
		return 0, false
	}
	edge := transform.DayOf(j.Now(), j.Zone) - transform.Day(j.KeepRunsDays)
	y, m, _ := edge.Time().Date()
	return transform.DayFromDate(y, m, 1), true
}

// frozenBefore is the boundary stored by the last pass that dropped runs:
// days before it have no runs in ClickHouse.
func frozenBefore(st load.State) (transform.Day, bool, error) {
	if st.RunsKeptFrom == "" {
		return 0, false, nil
	}
	d, err := transform.ParseDay(st.RunsKeptFrom)
	if err != nil {
		return 0, false, fmt.Errorf("stored runs_kept_from %q: %w", st.RunsKeptFrom, err)
	}
	return d, true, nil
}

// freezeOldDays makes the loader skip runs of frozen days and keep their
// groups out of the journal, and advances the boundary the state will
// store (the state is written before anything is dropped, so a pass that
// dies between the two leaves days frozen whose runs are still there:
// harmless, the next pass drops them).
func (j *Job) freezeOldDays(st *load.State, loader *runLoader) error {
	old, had, err := frozenBefore(*st)
	if err != nil {
		return err
	}
	if had {
		loader.frozenBefore, loader.hasFrozen = old, true
	}
	if kept, ok := j.runsKeptFrom(); ok && (!had || kept > old) {
		st.RunsKeptFrom = kept.String()
	}
	return nil
}

// dropOldRuns drops every partition of the per-run tables before the
// stored boundary. Idempotent: every pass calls it after its state.
func (j *Job) dropOldRuns(ctx context.Context, st load.State) error {
	before, ok, err := frozenBefore(st)
	if err != nil || !ok {
		return err
	}
	n, err := j.Sink.DropRunsBefore(ctx, before)
	if n > 0 {
		j.Log.Info().Str("runs_kept_from", before.String()).Int("partitions_dropped", n).Msg("dropped the runs of old months (--keep-runs-days)")
	}
	return err
}

// frozen reports whether retention dropped the runs of day.
func (l *runLoader) frozen(day transform.Day) bool {
	return l.hasFrozen && day < l.frozenBefore && !(l.hasThaw && day >= l.thawFrom && day <= l.thawTo)
}
