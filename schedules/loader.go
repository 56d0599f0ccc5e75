package schedules

import (
	"context"

	"github.com/scriptstats/scriptstats/load"
	"github.com/scriptstats/scriptstats/transform"
)

// runLoader gathers normalized runs into batches and writes each batch the
// crash-safe way: journal the groups it touches (old and new), then write the
// runs, the tombstones at old locations and the new locations.
type runLoader struct {
	job     *Job
	version uint64
	sum     *Summary
	minDay  transform.Day // runs of earlier days are skipped (--since)
	hasMin  bool
	lookup  bool // look up old locations (false on the first, empty load)
	batch   []transform.Run
	deleted []load.Location
	// total is the expected number of rows, for progress (0: no progress).
	total int64
	// dropped are runs the source still has but the job will not keep
	// (rejected, or before --since): any stored copy must go.
	dropped []int64
}

func (l *runLoader) addSource(ctx context.Context, src *transform.SourceRun) error {
	l.sum.RowsExtracted++
	if src.UpdatedAt.After(l.sum.NewestChange) {
		l.sum.NewestChange = src.UpdatedAt
	}
	run, issues, ok := transform.Normalize(*src, l.job.Zone, l.job.Limits)
	l.sum.Issues.Add(issues)
	if ok && l.hasMin && run.Day < l.minDay {
		l.sum.SkippedBefore++
		ok = false
	}
	if !ok {
		if l.lookup {
			l.dropped = append(l.dropped, src.ID)
		}
	} else {
		l.batch = append(l.batch, run)
	}
	if len(l.batch)+len(l.dropped) >= l.job.BatchSize {
		return l.flush(ctx)
	}
	return nil
}

// addDeleted records a run that no longer exists at the source.
func (l *runLoader) addDeleted(ctx context.Context, loc load.Location) error {
	loc.Deleted = true
	l.deleted = append(l.deleted, loc)
	if len(l.deleted) >= l.job.BatchSize {
		return l.flush(ctx)
	}
	return nil
}

func (l *runLoader) flush(ctx context.Context) error {
	if len(l.batch) == 0 && len(l.deleted) == 0 && len(l.dropped) == 0 {
		return nil
	}
	keys := map[transform.GroupKey]struct{}{}
	gone := l.deleted
	for _, d := range l.deleted {
		keys[d.Key] = struct{}{}
	}
	if l.lookup && len(l.batch)+len(l.dropped) > 0 {
		ids := make([]int64, 0, len(l.batch)+len(l.dropped))
		for i := range l.batch {
			ids = append(ids, l.batch[i].ID)
		}
		ids = append(ids, l.dropped...)
		old, err := l.job.Sink.Locations(ctx, ids)
		if err != nil {
			return err
		}
		for _, id := range l.dropped {
			if prev, ok := old[id]; ok {
				keys[prev] = struct{}{}
				gone = append(gone, load.Location{RunID: id, Key: prev, Deleted: true})
				l.sum.RunsDeleted++
			}
		}
		for i := range l.batch {
			r := &l.batch[i]
			if prev, ok := old[r.ID]; ok && prev != r.Key() {
				keys[prev] = struct{}{}
				gone = append(gone, load.Location{RunID: r.ID, Key: prev})
				l.sum.RunsMoved++
			}
		}
	}
	for i := range l.batch {
		keys[l.batch[i].Key()] = struct{}{}
	}
	list := make([]transform.GroupKey, 0, len(keys))
	for k := range keys {
		list = append(list, k)
	}
	if err := l.job.Sink.JournalGroups(ctx, list, l.version); err != nil {
		return err
	}
	if err := failpoint(ctx, fpAfterJournal); err != nil {
		return err
	}
	if err := l.job.Sink.InsertRuns(ctx, l.batch, gone, l.version); err != nil {
		return err
	}
	if err := failpoint(ctx, fpMidRunsInsert); err != nil {
		return err
	}
	if err := l.job.Sink.InsertLocations(ctx, l.batch, gone, l.version); err != nil {
		return err
	}
	if err := failpoint(ctx, fpAfterBatch); err != nil {
		return err
	}
	l.sum.RunsLoaded += int64(len(l.batch))
	l.sum.RunsDeleted += int64(len(l.deleted))
	if l.job.Progress != nil && l.total > 0 {
		l.job.Progress(l.sum.RowsExtracted, l.total)
	}
	l.batch = l.batch[:0]
	l.deleted = l.deleted[:0]
	l.dropped = l.dropped[:0]
	return nil
}

// recompute rebuilds every group journaled after the last completed pass
// from the runs stored for it, and writes the groups in batches.
func recompute(ctx context.Context, job *Job, after, version uint64, sum *Summary) error {
	const groupBatch = 2000
	var out []load.Group
	n, err := job.Sink.PendingGroups(ctx, after, func(key transform.GroupKey, runs []transform.Run) error {
		day, has, steps := transform.Aggregate(runs)
		if has {
			day.ScriptID, day.Day = key.ScriptID, key.Day
		}
		out = append(out, load.Group{Key: key, HasDay: has, Day: day, Steps: steps})
		if len(out) >= groupBatch {
			if err := job.Sink.WriteGroups(ctx, out, version); err != nil {
				return err
			}
			out = out[:0]
			if err := failpoint(ctx, fpMidRecompute); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	sum.GroupsRecomputed = int64(n)
	return job.Sink.WriteGroups(ctx, out, version)
}
