package schedules

import (
	"context"
	"runtime/debug"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/scriptstats/scriptstats/load"
	"github.com/scriptstats/scriptstats/transform"
)

// runBatch is one batch of work for ClickHouse.
type runBatch struct {
	runs    []transform.Run
	deleted []load.Location // runs deleted at the source, at a place known live
	// dropped are runs the source still has but the job will not keep
	// (rejected, or before --since): any stored copy must go.
	dropped []int64
	// known are places known live in runs_state (backfill's stale runs),
	// added to what run_places says: backfill then removes a copy verify
	// sees even if run_places missed it.
	known []load.Location
	// bytes estimates the memory the runs hold (runBytes).
	bytes int
}

func (b *runBatch) size() int { return len(b.runs) + len(b.deleted) + len(b.dropped) }

// full says the batch goes to the writer: --batch-size runs, or
// batchBytes of them. The bound in bytes keeps the loader's memory flat
// whatever the runs carry: a batch is held twice (filled and written) and
// encoded once, so 20,000 runs of 30-60 steps held ~700 MiB where the
// bench's runs (6-14 steps, 60 % with steps) hold ~240 (docs/performance.md,
// "Fourteenth round").
func (b *runBatch) full(batchSize int) bool {
	return b.size() >= batchSize || b.bytes >= batchBytes
}

// batchBytes bounds a batch's runs in memory, by runBytes. The bench's
// runs (6-14 steps on 60 % of them) come to ~1 KB each by that estimate,
// so its batches stay 20,000 runs (its 1M first load's peak did not move).
const batchBytes = 32 << 20

// runBytes estimates the memory of a normalized run: its struct and its
// steps' (transform.Run, transform.Step) and the bytes of their texts.
// Texts the normalizer shares between runs count for each; an estimate
// from above.
func runBytes(r *transform.Run) int {
	const runStruct, stepStruct = 320, 96
	n := runStruct + len(r.Status) + len(r.FailedStepName.String) + len(r.ErrorMessage.String)
	for i := range r.Steps {
		st := &r.Steps[i]
		n += stepStruct + len(st.Name.String) + len(st.Status) + len(st.Error.String)
	}
	return n
}

func (b *runBatch) reset() {
	clear(b.runs) // let the runs' strings go
	b.runs, b.deleted, b.dropped, b.known = b.runs[:0], b.deleted[:0], b.dropped[:0], b.known[:0]
	b.bytes = 0
}

// runStore is what the loader writes runs through: load.Sink, or a fake in
// the tests of the write order.
type runStore interface {
	Places(ctx context.Context, ids []int64) (map[int64][]transform.GroupKey, error)
	JournalGroups(ctx context.Context, keys []transform.GroupKey, version uint64) error
	AddPlaces(ctx context.Context, runs []transform.Run, version uint64) error
	InsertRuns(ctx context.Context, runs []transform.Run, gone []load.Location, version uint64) error
	RemovePlaces(ctx context.Context, gone []load.Location, version uint64) error
}

// runBlockStore is a runStore that writes a first load's runs in INSERTs
// open across many of the loader's batches (load.Sink): fewer, larger parts
// that ClickHouse merges less (docs/performance.md, "Eighth round: the full
// load's CPU").
type runBlockStore interface {
	NewRunBlock(ctx context.Context, version uint64) (*load.RunBlock, error)
	InsertRunBlock(ctx context.Context, b *load.RunBlock) error
}

// A first load writes runs_state in INSERTs of up to firstLoadInsertRuns
// runs (at least one batch), each open across the batches it holds and
// sent batch by batch (load.RunBlock): the client holds one batch, and
// ClickHouse writes large parts (smaller ones in the INSERT that holds the
// end of the load: load.RunBlock.LastOfLoad). The bound keeps an INSERT's
// time open in check (docs/performance.md, "Eighth round: the full load's
// CPU").
const firstLoadInsertRuns = 1_000_000

func (l *runLoader) blockRows() int {
	return max(firstLoadInsertRuns, l.job.BatchSize)
}

// holdsEndOfLoad says whether an INSERT of up to rows runs, opened after
// loaded runs of an expected total (0: unknown), holds the end of the load,
// give or take a quarter of an INSERT (the total is PostgreSQL's
// estimate): that INSERT squashes smaller blocks, since its last one is
// written while the job waits (load.RunBlock.LastOfLoad).
func holdsEndOfLoad(total, loaded int64, rows int) bool {
	return total > 0 && total-loaded <= int64(rows)+int64(rows)/4
}

// runLoader gathers normalized runs into batches and hands each full batch
// to a writer goroutine, so that reading and normalizing the next batch
// overlaps with writing this one. One batch is in memory besides the one
// being filled: the hand-off waits for the writer (an unbuffered channel).
// A queued batch on top bought no speed and was ~25 MB more live heap at
// its worst, which a 10M first load met far more often than a 1M one
// (docs/performance.md, "Ninth round: the loader's queue"). The writer
// writes each batch the crash-safe way (see write).
type runLoader struct {
	job     *Job
	store   runStore
	version uint64
	sum     *Summary
	minDay  transform.Day // runs of earlier days are skipped (--since)
	hasMin  bool
	lookup  bool // look up old places (false on the first, empty load)
	// bulk: write runs_state in blocks (runBlockStore) although old places
	// are looked up — a backfill, which rewrites every run of its days.
	bulk bool
	// Runs of days before frozenBefore are skipped and their groups never
	// journaled: retention dropped their runs (retention.go).
	frozenBefore transform.Day
	hasFrozen    bool
	// A backfill reads the days [thawFrom, thawTo] again: not frozen.
	thawFrom, thawTo transform.Day
	hasThaw          bool
	// total is the expected number of rows, for progress and the squashing of
	// the last INSERT (0: unknown).
	total int64
	// norm normalizes the runs read (addSource's goroutine only), sharing
	// the strings of repeated step names and errors.
	norm transform.Normalizer

	cur      *runBatch
	work     chan *runBatch
	free     chan *runBatch
	done     chan error
	failed   atomic.Bool
	aborting atomic.Bool
	running  bool

	// Written by the writer only; folded into sum by finish.
	loaded, moved, deleted int64
	// The open block of runs_state rows (writer only) and the old places
	// of its runs, removed once it is committed; blocks is set on a first
	// load and a backfill when the store can write blocks.
	block     *load.RunBlock
	blockGone []load.Location
	blocks    runBlockStore
}

func (l *runLoader) batch() *runBatch {
	if l.cur == nil {
		select {
		case b := <-l.free:
			l.cur = b
		default:
			l.cur = &runBatch{}
		}
	}
	return l.cur
}

func (l *runLoader) addSource(ctx context.Context, src *transform.SourceRun) error {
	l.sum.RowsExtracted++
	if src.UpdatedAt.After(l.sum.NewestChange) {
		l.sum.NewestChange = src.UpdatedAt
	}
	run, issues, ok := l.norm.Normalize(*src, l.job.Zone, l.job.Limits)
	l.sum.Issues.Add(issues)
	if ok && l.hasMin && run.Day < l.minDay {
		l.sum.SkippedBefore++
		ok = false
	}
	if ok && l.frozen(run.Day) {
		l.sum.SkippedFrozen++
		ok = false
	}
	b := l.batch()
	switch {
	case ok:
		b.runs = append(b.runs, run)
		b.bytes += runBytes(&run)
	case l.lookup:
		b.dropped = append(b.dropped, src.ID)
	}
	if b.full(l.job.BatchSize) {
		return l.submit(ctx)
	}
	return nil
}

// addGone records a run id the source no longer has, wherever the job
// stored it (nothing when it never did).
func (l *runLoader) addGone(ctx context.Context, id int64) error {
	b := l.batch()
	b.dropped = append(b.dropped, id)
	if b.full(l.job.BatchSize) {
		return l.submit(ctx)
	}
	return nil
}

// addKnown records a place where the next run given to addSource or
// addDeleted is known to be live in runs_state.
func (l *runLoader) addKnown(loc load.Location) {
	b := l.batch()
	b.known = append(b.known, loc)
}

// addDeleted records a run that no longer exists at the source, stored at
// loc (and wherever else run_places says).
func (l *runLoader) addDeleted(ctx context.Context, loc load.Location) error {
	b := l.batch()
	b.deleted = append(b.deleted, loc)
	if b.full(l.job.BatchSize) {
		return l.submit(ctx)
	}
	return nil
}

// submit hands the current batch to the writer, starting it if needed.
func (l *runLoader) submit(ctx context.Context) error {
	b := l.cur
	if b == nil || b.size() == 0 {
		return nil
	}
	if l.failed.Load() {
		return l.finish(ctx) // reports the writer's error
	}
	if !l.running {
		l.work = make(chan *runBatch) // unbuffered: see runLoader
		l.free = make(chan *runBatch, 2)
		l.done = make(chan error, 1)
		l.running = true
		l.blocks = nil
		if bs, ok := l.store.(runBlockStore); ok && (!l.lookup || l.bulk) {
			// A first load: nothing to look up or tombstone, and a pass
			// killed before its state starts from empty tables again. A
			// backfill: the old places of a block's runs are removed
			// only once the block is committed (write, flushBlock).
			l.blocks = bs
		}
		go l.writer(ctx, l.work, l.free, l.done)
	}
	select {
	case l.work <- b:
	case <-ctx.Done():
		_ = l.finish(ctx)
		return ctx.Err()
	}
	l.cur = nil
	if l.job.Progress != nil && l.total > 0 {
		l.job.Progress(l.sum.RowsExtracted, l.total)
	}
	return nil
}

// finish writes what is left and waits until every batch is in
// ClickHouse; the loader can be used again afterwards.
func (l *runLoader) finish(ctx context.Context) error {
	var err error
	if !l.failed.Load() && l.cur != nil && l.cur.size() > 0 {
		err = l.submit(ctx)
	}
	if l.running {
		close(l.work)
		if werr := <-l.done; werr != nil {
			err = werr
		}
		l.running = false
		l.failed.Store(false)
		// The batches kept for reuse go (a first load's recompute and
		// detection come next); a later submit starts a new free list.
		l.free = nil
	}
	l.sum.RunsLoaded += l.loaded
	l.sum.RunsMoved += l.moved
	l.sum.RunsDeleted += l.deleted
	l.loaded, l.moved, l.deleted = 0, 0, 0
	return err
}

// abort discards the batch being filled and any queued one, and waits for
// the writer to end the batch it is sending: a failing pass then exits with
// no insert half-sent (a reset connection mid-insert is harmless to a
// ClickHouse server, but the local test engine aborts on it). A no-op once
// finish has run.
func (l *runLoader) abort() {
	l.cur = nil
	if !l.running {
		return
	}
	l.aborting.Store(true)
	close(l.work)
	<-l.done
	l.running = false
}

// writer writes batches in order until work is closed. After a failure it
// only drains, so that the reader never blocks, and reports the error.
func (l *runLoader) writer(ctx context.Context, work <-chan *runBatch, free chan<- *runBatch, done chan<- error) {
	var err error
	for b := range work {
		if err == nil && !l.aborting.Load() {
			if err = l.write(ctx, b); err != nil {
				l.failed.Store(true)
			}
		}
		b.reset()
		select {
		case free <- b:
		default:
		}
	}
	if err == nil && !l.aborting.Load() {
		err = l.flushBlock(ctx)
	}
	if l.block != nil {
		l.block.Abort()
		l.block = nil
	}
	done <- err
}

// insertRuns writes runs_state for a batch: at once, or on a first load
// and a backfill into the block's open INSERT (tombstones too), committed
// when it holds blockRows rows and at the end.
func (l *runLoader) insertRuns(ctx context.Context, runs []transform.Run, gone []load.Location) error {
	if l.blocks == nil {
		return l.store.InsertRuns(ctx, runs, gone, l.version)
	}
	rows := l.blockRows()
	if l.block == nil {
		b, err := l.blocks.NewRunBlock(ctx, l.version)
		if err != nil {
			return err
		}
		if holdsEndOfLoad(l.total, l.loaded, rows) {
			b.LastOfLoad()
		}
		l.block = b
	}
	if err := l.block.Add(runs, gone); err != nil {
		return err
	}
	if l.block.Len() >= rows {
		return l.flushBlock(ctx)
	}
	return nil
}

// flushBlock commits the block, then removes the old places of its runs
// (step 5 of write, held back until its step 4 is committed).
func (l *runLoader) flushBlock(ctx context.Context) error {
	if l.block == nil || l.block.Len() == 0 {
		l.block = nil
		return nil
	}
	err := l.blocks.InsertRunBlock(ctx, l.block)
	l.block = nil
	if err != nil {
		return err
	}
	// The block's connection is closed with its INSERT, and its driver
	// buffers (tens of MB) are garbage: returned to the system now, before
	// the next block grows its own, they do not sit beside them until the
	// collector finds them. A 10M first load has ten INSERTs, and its
	// peak RSS was the highest of their transitions: one load each, VmRSS
	// every 0.5 s, the load phase's median 244–245 MiB both times, its
	// highest 278 → 257 MiB (docs/performance.md, "Thirteenth round"). One
	// forced collection per million runs.
	debug.FreeOSMemory()
	gone := l.blockGone
	l.blockGone = nil
	return l.store.RemovePlaces(ctx, gone, l.version)
}

// write writes one batch so that a pass killed between any two of its
// writes leaves nothing a later pass cannot find:
//
//  1. look up every live place of the batch's runs (run_places);
//  2. journal every group of those places and of the runs' new places;
//  3. add the new places to run_places (live);
//  4. write runs_state: the runs, and a tombstone at every other place;
//  5. remove those other places from run_places.
//
// A first load (nothing stored, nothing to look up) and a backfill write
// step 4 of many batches in one INSERT (insertRuns, load.RunBlock): each
// batch's places are in run_places before its runs all the same, a
// backfill's step 5 waits until the INSERT is committed, and a first load
// killed before its state is written starts again from empty tables.
//
// run_places thus always holds every place live in runs_state (3 before 4,
// 5 after 4), and a run left live at an old place by a killed pass is found
// by the next pass that reads it, wherever the source has moved it since.
func (l *runLoader) write(ctx context.Context, b *runBatch) error {
	keys := map[transform.GroupKey]struct{}{}
	var places map[int64][]transform.GroupKey
	if l.lookup {
		ids := make([]int64, 0, b.size())
		for i := range b.runs {
			ids = append(ids, b.runs[i].ID)
		}
		ids = append(ids, b.dropped...)
		for _, d := range b.deleted {
			ids = append(ids, d.RunID)
		}
		var err error
		if places, err = l.store.Places(ctx, ids); err != nil {
			return err
		}
	} else {
		places = map[int64][]transform.GroupKey{}
	}
	for _, k := range b.known {
		places[k.RunID] = addPlace(places[k.RunID], k.Key)
	}
	for _, d := range b.deleted {
		places[d.RunID] = addPlace(places[d.RunID], d.Key)
	}
	var gone []load.Location
	removeAll := func(id int64) bool {
		for _, k := range places[id] {
			keys[k] = struct{}{}
			gone = append(gone, load.Location{RunID: id, Key: k})
		}
		return len(places[id]) > 0
	}
	for _, id := range b.dropped {
		if removeAll(id) {
			l.deleted++
		}
	}
	for _, d := range b.deleted {
		removeAll(d.RunID)
		l.deleted++
	}
	// added are the runs whose place is not yet live in run_places; a run
	// rewritten where it already is (the usual update) adds nothing.
	added := make([]transform.Run, 0, len(b.runs))
	for i := range b.runs {
		r := &b.runs[i]
		keys[r.Key()] = struct{}{}
		here, moved := false, false
		for _, k := range places[r.ID] {
			if k == r.Key() {
				here = true
				continue
			}
			keys[k] = struct{}{}
			gone = append(gone, load.Location{RunID: r.ID, Key: k})
			moved = true
		}
		if moved {
			l.moved++
		}
		if !here {
			added = append(added, *r)
		}
	}
	list := make([]transform.GroupKey, 0, len(keys))
	for k := range keys {
		if !l.frozen(k.Day) {
			list = append(list, k)
		}
	}
	if err := l.store.JournalGroups(ctx, list, l.version); err != nil {
		return err
	}
	if err := l.job.failpoint(ctx, fpAfterJournal); err != nil {
		return err
	}
	if err := l.store.AddPlaces(ctx, added, l.version); err != nil {
		return err
	}
	if err := l.job.failpoint(ctx, fpAfterPlacesAdd); err != nil {
		return err
	}
	if err := l.insertRuns(ctx, b.runs, gone); err != nil {
		return err
	}
	if err := l.job.failpoint(ctx, fpMidRunsInsert); err != nil {
		return err
	}
	if l.block != nil {
		// Step 4 is in the block's open INSERT, not committed yet: step 5
		// waits for it (flushBlock).
		l.blockGone = append(l.blockGone, gone...)
	} else if err := l.store.RemovePlaces(ctx, gone, l.version); err != nil {
		return err
	}
	if err := l.job.failpoint(ctx, fpAfterBatch); err != nil {
		return err
	}
	l.loaded += int64(len(b.runs))
	return nil
}

// Groups written per INSERT. Each INSERT is a part of groups_state and of
// groups_for_views, which the views read under FINAL until ClickHouse
// merges them: a full load or a backfill of 18k groups wrote ~10 parts
// each at 2,000 a batch, and the trend at 1M read ~20 (docs/performance.md,
// "The trend at 1M, sixth round"). 10,000 groups are ~20 MB in memory, in
// the recompute phase, after the load phase's batches are gone. With
// faults injected the batch stays small, so that the crash window between
// two batches (mid_recompute) is reached by histories of a few thousand
// groups.
const (
	groupBatch       = 10_000
	groupBatchFaults = 2_000
)

func (j *Job) groupBatchSize() int {
	if j.faultsInjected() {
		return groupBatchFaults
	}
	return groupBatch
}

func addPlace(list []transform.GroupKey, k transform.GroupKey) []transform.GroupKey {
	for _, have := range list {
		if have == k {
			return list
		}
	}
	return append(list, k)
}

// recompute rebuilds every group journaled after the last completed pass
// from the runs stored for it, and writes the groups in batches. The
// groups of the step health window as of asOf (and after it) get their
// step health day summary too, from the same runs, against the version
// the group is written with (detect_health.go): the summary of a touched
// day costs no read.
//
// A batch is written by a goroutine of its own while the next one is read
// and aggregated (at most two batches are held): written in turn, the
// read waited for every INSERT and each INSERT for the read. A first load
// of 5,000 sparse scripts (680,000 groups, 68 batches) spent most of its
// recompute so (docs/performance.md, "Fourteenth round"). The batches are
// written in order, by one writer, and the failpoint after each is where
// it was.
func recompute(ctx context.Context, job *Job, after, version uint64, asOf time.Time, sum *Summary) error {
	groupBatch := job.groupBatchSize()
	healthFrom := healthFromDay(asOf, job.Zone)
	type batch struct {
		groups []load.Group
		days   []load.HealthDayRow
	}
	g, gctx := errgroup.WithContext(ctx)
	batches := make(chan batch)
	var daysWritten int64
	g.Go(func() error {
		for b := range batches {
			if err := job.Sink.WriteGroups(gctx, b.groups, version); err != nil {
				return err
			}
			if err := job.Sink.WriteHealthDays(gctx, b.days, version); err != nil {
				return err
			}
			daysWritten += int64(len(b.days))
			if err := job.failpoint(gctx, fpMidRecompute); err != nil {
				return err
			}
		}
		return nil
	})
	var n int
	g.Go(func() error {
		defer close(batches)
		var agg transform.Aggregator
		var out []load.Group
		var days []load.HealthDayRow
		send := func() error {
			select {
			case batches <- batch{groups: out, days: days}:
				out, days = nil, nil // the writer has them now
				return nil
			case <-gctx.Done():
				return gctx.Err()
			}
		}
		var err error
		n, err = job.Sink.PendingGroups(gctx, after, func(key transform.GroupKey, runs []transform.Run) error {
			day, has, steps := agg.Aggregate(runs)
			if has {
				day.ScriptID, day.Day = key.ScriptID, key.Day
			}
			out = append(out, load.Group{Key: key, HasDay: has, Day: day, Steps: steps})
			if has && key.Day >= healthFrom {
				if row, ok := summarizeDay(key, version, healthRunsOf(runs), job.Zone); ok {
					days = append(days, row)
				}
			}
			if len(out) >= groupBatch {
				return send()
			}
			return nil
		})
		if err != nil {
			return err
		}
		return send()
	})
	err := g.Wait()
	sum.Detect.HealthDaysWritten += daysWritten
	if err != nil {
		return err
	}
	sum.GroupsRecomputed = int64(n)
	return nil
}
