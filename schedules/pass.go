package schedules

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pglogrepl"
	"golang.org/x/sync/errgroup"

	"github.com/scriptstats/scriptstats/extract"
	"github.com/scriptstats/scriptstats/load"
	"github.com/scriptstats/scriptstats/transform"
)

// RunOptions tune one incremental pass.
type RunOptions struct {
	// Since limits the first pass on an empty ClickHouse to runs of this day
	// and later; ignored (with a warning) once data is loaded.
	Since *transform.Day
}

// pass is what every kind of pass shares: the lock, the state, the
// snapshot, the version.
type pass struct {
	lock    Lock
	snap    Snapshot
	state   load.State
	stored  bool // a state existed
	rewound bool // the source went back in time and the pass accepts it
	version uint64
	started time.Time
}

func (j *Job) begin(ctx context.Context) (*pass, error) { return j.beginPass(ctx, false) }

// beginPass starts a pass; acceptRewind (backfill --accept-rewind only)
// lets it go on when the source went back in time, marking it rewound.
func (j *Job) beginPass(ctx context.Context, acceptRewind bool) (*pass, error) {
	p := &pass{started: j.Now()}
	lock, err := j.Source.TryLock(ctx, extract.LockKey(j.Sink.Database()))
	if err != nil {
		return nil, err
	}
	p.lock = lock
	if err := j.failpoint(ctx, fpAfterLock); err != nil {
		p.end(ctx)
		return nil, err
	}
	fail := func(err error) (*pass, error) {
		p.end(ctx)
		return nil, err
	}
	if err := j.Sink.CheckSchema(ctx); err != nil {
		return fail(err)
	}
	st, ok, err := j.Sink.ReadState(ctx)
	if err != nil {
		return fail(err)
	}
	if ok && !j.sameZone(st.Timezone) {
		return fail(fmt.Errorf("%w: ClickHouse holds days in %s, this pass would use %s; use --timezone %s, or load into a new database", ErrTimezoneChanged, st.Timezone, j.ZoneName, st.Timezone))
	}
	p.state, p.stored = st, ok
	snap, err := j.Source.Begin(ctx)
	if err != nil {
		return fail(err)
	}
	p.snap = snap
	if err := snap.CheckSchema(ctx); err != nil {
		return fail(err)
	}
	info := snap.Info()
	if wm := st.Watermark; wm != nil && info.Xmax < wm.Xmax {
		if !acceptRewind {
			return fail(fmt.Errorf("%w: its transaction counter is %d, the last pass saw %d; if it was restored on purpose, run scriptstats backfill --accept-rewind --from <first day changed since the backup> --to <today>", ErrSourceRewound, info.Xmax, wm.Xmax))
		}
		p.rewound = true
	}
	// Versions order every row the job writes: nanoseconds of the clock,
	// above every version written so far (a clock that stepped back): the
	// rows of a killed pass must lose to the next pass's, or a run it wrote
	// at a place the next pass tombstones would stay live there.
	written, err := j.Sink.MaxVersion(ctx)
	if err != nil {
		return fail(err)
	}
	p.version = max(uint64(j.Now().UnixNano()), st.CompletedVersion+1, written+1)
	return p, nil
}

func (p *pass) end(ctx context.Context) {
	ctx = context.WithoutCancel(ctx)
	if p.snap != nil {
		_ = p.snap.Close(ctx)
	}
	if p.lock != nil {
		_ = p.lock.Release(ctx)
	}
}

func (p *pass) id() string { return strconv.FormatUint(p.version, 36) }

// Run does one incremental pass; the first on an empty ClickHouse loads the
// whole history (or from opts.Since).
func (j *Job) Run(ctx context.Context, opts RunOptions) (sum Summary, err error) {
	p, err := j.begin(ctx)
	if err != nil {
		return sum, err
	}
	defer p.end(ctx)
	sum.PassID = p.id()
	st := p.state
	loader := &runLoader{job: j, store: j.Sink, version: p.version, sum: &sum, lookup: true}
	defer loader.abort()
	var read func(context.Context, extract.RunFunc) error
	// A logical pass with no position of this slot (the first, or a switch
	// from --source cursor) loads everything from a new slot's snapshot.
	logicalFirst := j.Slot != nil && (st.Logical == nil || st.Logical.Slot != j.Slot.Name)
	var upTo pglogrepl.LSN
	switch {
	case st.Watermark == nil || logicalFirst:
		sum.Mode = "full"
		if !p.stored || logicalFirst {
			// A first pass starts from empty tables: whatever an earlier,
			// crashed first pass left is not trusted.
			if err := j.Sink.Reset(ctx); err != nil {
				return sum, err
			}
			loader.lookup = false
			st = load.State{Timezone: j.ZoneName}
			if opts.Since != nil {
				st.Since = opts.Since.String()
			}
		}
		if j.Slot != nil {
			if upTo, err = j.logicalFirstSnapshot(ctx, p); err != nil {
				return sum, err
			}
		}
		loader.total = p.snap.EstimateRuns(ctx)
		read = func(ctx context.Context, fn extract.RunFunc) error {
			return p.snap.AllRuns(ctx, j.Limits.ErrorBytes, fn)
		}
	case j.Slot != nil:
		sum.Mode = "logical"
		var readChanged func(context.Context) error
		if upTo, readChanged, err = j.logicalChanges(ctx, p, &sum, loader); err != nil {
			return sum, err
		}
		read = func(ctx context.Context, _ extract.RunFunc) error { return readChanged(ctx) }
	default:
		sum.Mode = "incremental"
		if opts.Since != nil {
			j.Log.Warn().Str("since", opts.Since.String()).Msg("--since applies only to the first pass on an empty database; ignored")
		}
		plan := planScan(st.Watermark, p.snap.Info(), j.Lookback)
		sum.ScanFrom = plan.From
		read = func(ctx context.Context, fn extract.RunFunc) error {
			if err := p.snap.ChangedRuns(ctx, plan.From, j.Limits.ErrorBytes, fn); err != nil {
				return err
			}
			if len(plan.ByWriter) == 0 {
				return nil
			}
			j.Log.Info().Int("transactions", len(plan.ByWriter)).Msg("reading the rows of transactions of unknown age by writer")
			return p.snap.RunsWrittenBy(ctx, plan.ByWriter, plan.From, j.Limits.ErrorBytes, fn)
		}
	}
	info := p.snap.Info()
	sum.SnapshotTime = info.Time
	if j.Slot == nil {
		j.checkGuarantee(info.Activity, &sum)
	}
	if j.Slot != nil {
		st.Logical = &load.LogicalPosition{Slot: j.Slot.Name, LSN: upTo.String()}
	}
	if st.Since != "" {
		d, err := transform.ParseDay(st.Since)
		if err != nil {
			return sum, fmt.Errorf("stored since %q: %w", st.Since, err)
		}
		loader.minDay, loader.hasMin = d, true
	}
	if err := j.freezeOldDays(&st, loader); err != nil {
		return sum, err
	}
	if err := j.syncScripts(ctx, p, &sum); err != nil {
		return sum, err
	}
	loadStart := j.Now()
	sum.SetupDuration = loadStart.Sub(p.started)
	if err := read(ctx, func(src *transform.SourceRun) error { return loader.addSource(ctx, src) }); err != nil {
		return sum, err
	}
	if err := loader.finish(ctx); err != nil {
		return sum, err
	}
	st.Watermark = nextWatermark(st.Watermark, info)
	st.LastPassAt = info.Time
	if err := j.complete(ctx, p, st, loadStart, &sum); err != nil {
		return sum, err
	}
	if err := j.dropOldRuns(ctx, st); err != nil {
		return sum, err
	}
	if j.Slot != nil && sum.Mode == "logical" {
		if err := j.failpoint(ctx, fpBeforeSlotAdvance); err != nil {
			return sum, err
		}
		return sum, j.advanceSlot(ctx, st)
	}
	return sum, nil
}

// complete ends every kind of pass once its runs are written: recompute
// the journaled groups, then write the state — the last write, so that a
// pass that dies before it is finished by the next one.
func (j *Job) complete(ctx context.Context, p *pass, st load.State, loadStart time.Time, sum *Summary) error {
	if err := j.failpoint(ctx, fpAfterExtract); err != nil {
		return err
	}
	sum.LoadDuration = j.Now().Sub(loadStart)
	method := ""
	if p.stored {
		method = p.state.ChangeMethod
	}
	// A first load or a backfill writes the run links beside the groups
	// and detection: relink reads the journal, runs_state and the
	// groups_state rows of groups not journaled (exact before this pass,
	// and not written by it), and writes run_links alone, which neither
	// the recompute nor detection reads. Each is rebuilt from the journal,
	// so a pass that dies with either half done leaves what it left when
	// they ran in turn. There the relink is seconds of ClickHouse's work
	// and the recompute and detection mostly the job's, so side by side
	// they share the two cores (docs/performance.md, "Tenth round"). An
	// incremental pass's relink is tens of ms of reads that only slowed
	// detection's reads beside it: there they run in turn, as before. The
	// first error cancels the other.
	sideBySide := sum.Mode == "full" || sum.Mode == "backfill"
	g, gctx := errgroup.WithContext(ctx)
	links := func() error {
		start := j.Now()
		defer func() { sum.RelinkDuration = j.Now().Sub(start) }()
		return relink(gctx, j, p.state.CompletedVersion, p.version)
	}
	if sideBySide {
		g.Go(links)
	}
	g.Go(func() error {
		recomputeStart := j.Now()
		if err := recompute(gctx, j, p.state.CompletedVersion, p.version, st.LastPassAt, sum); err != nil {
			return err
		}
		sum.RecomputeDuration = j.Now().Sub(recomputeStart)
		if !sideBySide {
			if err := links(); err != nil {
				return err
			}
		}
		return j.detect(gctx, p.state.CompletedVersion, p.version, st.LastPassAt, method, sum)
	})
	if err := g.Wait(); err != nil {
		return err
	}
	st.ChangeMethod = j.changeMethod()
	if err := j.failpoint(ctx, fpBeforeState); err != nil {
		return err
	}
	st.CompletedVersion = p.version
	if err := j.Sink.WriteState(ctx, st, p.version); err != nil {
		return err
	}
	sum.Duration = j.Now().Sub(p.started)
	sum.Log(j.Log.Info(), sum.SnapshotTime)
	return nil
}

func (j *Job) syncScripts(ctx context.Context, p *pass, sum *Summary) error {
	names, err := p.snap.Scripts(ctx)
	if err != nil {
		return err
	}
	for id, name := range names {
		clean, _, _ := transform.CutText(name, int64(len(name)), j.Limits.NameBytes)
		names[id] = clean
	}
	n, err := j.Sink.SyncScripts(ctx, names, p.version)
	sum.ScriptsChanged = int64(n)
	return err
}

// IsLocked reports whether err means another pass was running.
func IsLocked(err error) bool { return errors.Is(err, ErrLocked) }
