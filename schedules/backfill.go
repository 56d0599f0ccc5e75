package schedules

import (
	"context"
	"fmt"

	"github.com/scriptstats/scriptstats/load"
	"github.com/scriptstats/scriptstats/transform"
)

// Backfill recomputes the days [from, to] from the source: every run of
// those days is rewritten, runs deleted at the source or moved out of the
// range are found and removed, every group of the days is recomputed.
func (j *Job) Backfill(ctx context.Context, from, to transform.Day) (sum Summary, err error) {
	return j.backfill(ctx, from, to, false)
}

// BackfillAcceptingRewind is Backfill on a source that went back in time
// (restored from a backup), which every other pass refuses: the days
// [from, to] are recomputed from the source as it is now, and the
// watermark is reset to this pass's snapshot, so that incremental passes
// go on from here. Days outside the range keep what ClickHouse holds:
// the range must cover every day changed since the backup was taken.
// Without a rewind it is a plain backfill.
func (j *Job) BackfillAcceptingRewind(ctx context.Context, from, to transform.Day) (sum Summary, err error) {
	return j.backfill(ctx, from, to, true)
}

func (j *Job) backfill(ctx context.Context, from, to transform.Day, acceptRewind bool) (sum Summary, err error) {
	if to < from {
		return sum, fmt.Errorf("backfill: --to %s is before --from %s", to, from)
	}
	p, err := j.beginPass(ctx, acceptRewind)
	if err != nil {
		return sum, err
	}
	defer p.end(ctx)
	sum.PassID, sum.Mode = p.id(), "backfill"
	info := p.snap.Info()
	sum.SnapshotTime = info.Time
	st := p.state
	if !p.stored {
		st = load.State{Timezone: j.ZoneName}
	}
	if p.rewound {
		// The old watermark and markers count transactions of the source
		// before the restore: start afresh from this snapshot, as a first
		// pass does.
		j.Log.Warn().Int64("xmax", info.Xmax).Int64("last_pass_xmax", st.Watermark.Xmax).
			Str("from", from.String()).Str("to", to.String()).
			Msg("source went back in time: accepted; recomputing the days and resetting the watermark to this snapshot")
		st.Watermark = nextWatermark(nil, info)
		st.LastPassAt = info.Time
	} else if acceptRewind {
		j.Log.Info().Msg("--accept-rewind: the source did not go back in time; a plain backfill")
	}
	if st.Since != "" {
		since, err := transform.ParseDay(st.Since)
		if err != nil {
			return sum, fmt.Errorf("stored since %q: %w", st.Since, err)
		}
		if from < since {
			if to+1 < since {
				return sum, fmt.Errorf("backfill: the loaded history starts at %s; a backfill of earlier days must reach %s (use --to %s) so that no day is left half loaded", since, since-1, since-1)
			}
			st.Since = from.String()
		}
	}
	loader := &runLoader{job: j, store: j.Sink, version: p.version, sum: &sum, lookup: true, bulk: true}
	defer loader.abort()
	if err := j.freezeOldDays(&st, loader); err != nil {
		return sum, err
	}
	loader.thawFrom, loader.thawTo, loader.hasThaw = from, to, true // read again from the source
	if err := j.syncScripts(ctx, p, &sum); err != nil {
		return sum, err
	}
	loadStart := j.Now()
	sum.SetupDuration = loadStart.Sub(p.started)
	// Every instant dated in the range: where a date comes back, the span
	// also holds runs of the days beside it, written where they belong.
	lo, hi := transform.DaysSpan(from, to, j.Zone)
	if j.Progress != nil {
		loader.total = p.snap.CountRunsBetween(ctx, lo, hi)
	}
	err = p.snap.RunsOfDays(ctx, lo, hi, j.Limits.ErrorBytes, func(src *transform.SourceRun) error {
		return loader.addSource(ctx, src)
	})
	if err != nil {
		return sum, err
	}
	tl := j.timeline()
	if err := loader.finish(ctx); err != nil {
		return sum, err
	}
	tl.mark("runs_written")
	// Runs stored for these days that this pass did not rewrite are gone
	// from the range: deleted at the source, or moved to another day.
	stale, err := j.Sink.StaleRuns(ctx, from, to, p.version)
	if err != nil {
		return sum, err
	}
	tl.mark("stale_read")
	if err := j.resolveStale(ctx, p, loader, stale); err != nil {
		return sum, err
	}
	tl.mark("stale_resolved")
	if err := j.Sink.JournalGroupsOfDays(ctx, from, to, p.version); err != nil {
		return sum, err
	}
	tl.mark("groups_journaled")
	tl.done("backfill: the end of the load")
	if err := j.complete(ctx, p, st, loadStart, &sum); err != nil {
		return sum, err
	}
	return sum, j.dropOldRuns(ctx, st)
}

// resolveStale reads the stale runs by id: those still at the source moved
// and are rewritten where they now belong; the others are deleted. Every
// stale copy goes, even one run_places does not list (a run an older
// version left live in two groups): what verify sees, backfill removes.
func (j *Job) resolveStale(ctx context.Context, p *pass, loader *runLoader, stale []load.Location) error {
	const chunk = 10000
	for start := 0; start < len(stale); start += chunk {
		part := stale[start:min(start+chunk, len(stale))]
		at := make(map[int64][]load.Location, len(part))
		ids := make([]int64, 0, len(part))
		for _, s := range part {
			if _, ok := at[s.RunID]; !ok {
				ids = append(ids, s.RunID)
			}
			at[s.RunID] = append(at[s.RunID], s)
		}
		found := map[int64]bool{}
		err := p.snap.RunsByID(ctx, ids, j.Limits.ErrorBytes, func(src *transform.SourceRun) error {
			found[src.ID] = true
			for _, s := range at[src.ID] {
				loader.addKnown(s)
			}
			return loader.addSource(ctx, src)
		})
		if err != nil {
			return err
		}
		for _, id := range ids {
			if found[id] {
				continue
			}
			locs := at[id]
			for _, s := range locs[1:] {
				loader.addKnown(s)
			}
			if err := loader.addDeleted(ctx, locs[0]); err != nil {
				return err
			}
		}
		if err := loader.finish(ctx); err != nil {
			return err
		}
	}
	return nil
}
