package schedules

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"math"
	"math/bits"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/scriptstats/scriptstats/load"
	"github.com/scriptstats/scriptstats/transform"
)

// Change points (duration_changes): what a pass recomputes, and why that
// is exact.
//
// A pass can change a script's series only on and after the first day its
// journal names for the script (the range of PendingScripts: moves and
// deletes journal the group a run left, so its old place is in the range).
// So in each series the values before p — the first value of a day on or
// after that day — are the ones the stored change points were computed
// from. With a method of radius r (transform.ChangeOptions.Radius: the
// result at i depends only on values[i−r:i+r]), the change points at
// positions < p − r depend on those values alone and stay. The ones at
// positions ≥ p − r are recomputed on the slice values[p−2r:], which gives
// them exactly, and replace every stored change point of the series whose
// key is at least that of position p − r (new rows, tombstones for the
// rest). A killed pass wrote only keys in that range too (the next pass's
// range starts no later), so the stored prefix is always one computed from
// today's values.
//
// How far back to read: per series 2r values before p. A step that runs
// rarely needs more days than the run series, so the start day of a script
// is planned from its stored daily counts (groups_state: success runs,
// success attempts per step — upper bounds of the series' values), and a
// series that turns out short (values with invalid durations) makes its
// script read again from further back, until it has 2r values before p or
// the read holds its first value.
//
// When the method is not local (Radius reports local == false) every
// series of a pending script is recomputed whole: the same code with the
// first changed day and the read start at the beginning of time.

// changeWindow is what a pass recomputes of one script.
type changeWindow struct {
	first transform.Day // the first day the pass can have changed
	from  transform.Day // the script's runs are read from this stored day on
	// before holds the series that may have values before from (by the
	// counts); the read holds the first value of every other series.
	before map[int32]bool
	r      int
	// quiet: each series with a quiet mark is first checked against it
	// (quiet.go); the ones not proved unchanged are recomputed as without
	// it (reading the script again from further back if they need it).
	quiet bool
	// marks: recomputed series get a quiet mark, and the script its change
	// tail (a local method only).
	marks bool
	// tail: the script's values before tail.Cut come from its stored
	// change tail, and the read keeps the runs after tail.Last
	// (changetail.go); planned is where the script is read from without it.
	tail    *load.ChangeTail
	planned transform.Day
	// scanTail: the tail whose scan tests the recompute may take — tail,
	// or the tail a reread left aside (its values are found in the read:
	// tailScan).
	scanTail *load.ChangeTail
	plan     map[int32]int // the values before first each series was planned with
	// stored: the script's change tail as stored (nil: none), replaced or
	// removed by the pass.
	stored  *load.ChangeTail
	hasTail bool
	// samples: the sizes of the samples of each stored change point of the
	// script (keepStored).
	samples map[load.ChangeKey][2]int
	tails   bool          // the pass writes change tails (changetail.go)
	cut     transform.Day // the cut day of the tail the pass writes
	version uint64
}

// series is one duration series being built: values in order and the run
// (index into the script's runs) of each. A value's day and its group's
// stored day are its run's (scriptRuns.day, groupDay): 12 bytes a value,
// not 24 — the first load holds whole scripts' series (50k runs each at
// 10M), and this was most of its peak heap.
type series struct {
	step   int32 // load.RunSeries: whole runs
	values []float64
	runs   []int32
}

// days is the day label of each value of s from position a on: what the
// change-point method reads beside the values (its one-day rule), which
// must not go back. A value's label is its day in the zone, or the
// previous value's label when that is later: where the clocks go back over
// midnight (America/Goose_Bay until 2010: 00:01 back to 23:01 of the day
// before), a date comes back for an hour in the middle of a series, and the
// method refused the series. The runs of that hour count with the day
// before them; nothing else moves (docs/detection.md, "Pitfalls").
func (sr *scriptRuns) days(s *series, a int) []transform.Day {
	out := make([]transform.Day, len(s.values)-a)
	for i := range out {
		out[i] = sr.day[s.runs[a+i]]
		if i > 0 {
			out[i] = max(out[i], out[i-1])
		}
	}
	return out
}

// scriptRuns is what the change points keep of a script's counted runs (in
// series order): each run's id, time and day in the zone, the series, and
// the steps' names. It is built as the runs are read, so that a long
// script's runs with all their steps are not held while its series are
// computed (the first load holds whole scripts).
type scriptRuns struct {
	id        []int64
	orderedUS []int64
	// tailRuns: the first tailRuns runs came from the script's change tail
	// (keys, days and values only: no steps, no names).
	tailRuns int
	day      []transform.Day // the run's day in the zone
	groupDay []transform.Day // the stored day of the run's group
	series   map[int32]*series
	// steps[k]: what is kept of the steps of index k (names), with a
	// cache of the first indexes (most scripts' steps) that spares add a
	// map lookup per step.
	steps    map[int32]*stepSlot
	first    [firstSlots]*stepSlot
	text     []string
	interned map[string]int32 // text's index of each name
}

// firstSlots is how many step indexes (0, 1, …) add finds without a map.
const firstSlots = 64

// stepSlot is what add keeps of the steps of one index.
type stepSlot struct {
	// present: the runs with a step of the index (any status); names: the
	// name each of those runs gives the index, run-length encoded — an
	// entry per change, in run order (latestName). A run's name is the last
	// non-null name of its steps of the index (−1: none). A step's name
	// rarely changes, so a long script's names are a few entries, not one
	// per step: they were 8 bytes a step, a seventh of the first load's
	// peak live heap at 10M runs (docs/performance.md, "Twelfth round").
	present runSet
	names   []runStepName
	// last is the latest non-null name seen and its index into text: a
	// step's name rarely changes, so add compares before it hashes.
	last   string
	lastID int32
	series *series // series[k] of the script, held here to spare add the map; nil until the index has a value
}

// slot is the step slot of index k, made on first use.
func (sr *scriptRuns) slot(k int32) *stepSlot {
	if k >= 0 && k < firstSlots {
		if sl := sr.first[k]; sl != nil {
			return sl
		}
	}
	sl := sr.steps[k]
	if sl == nil {
		sl = &stepSlot{lastID: -1}
		sr.steps[k] = sl
	}
	if k >= 0 && k < firstSlots {
		sr.first[k] = sl
	}
	return sl
}

// runStepName is the name (an index into text; −1: null) of an index's
// steps from run on, up to the next entry.
type runStepName struct{ run, name int32 }

// addName records a step of the slot's index in run i (runs come in order;
// a run may have several steps of one index) with name (−1: null).
func (sl *stepSlot) addName(i, name int32) {
	n := len(sl.names)
	if !sl.present.has(i) { // the run's first step of the index
		sl.present.add(i)
		if n == 0 || sl.names[n-1].name != name {
			sl.names = append(sl.names, runStepName{run: i, name: name})
		}
		return
	}
	// Another step of the index in the same run: a non-null name is the
	// run's from now on (the last non-null one wins), a null one changes
	// nothing.
	switch {
	case name < 0 || sl.names[n-1].name == name:
	case sl.names[n-1].run == i:
		sl.names[n-1].name = name
		if n > 1 && sl.names[n-2].name == name {
			sl.names = sl.names[:n-1]
		}
	default:
		sl.names = append(sl.names, runStepName{run: i, name: name})
	}
}

// nameAt is the name the slot's index has in run i, which has a step of
// the index.
func (sl *stepSlot) nameAt(i int32) int32 {
	p, _ := slices.BinarySearchFunc(sl.names, i+1, func(o runStepName, run int32) int { return cmp.Compare(o.run, run) })
	return sl.names[p-1].name
}

// newScriptRuns builds the run series and the step series of a script's
// counted runs (in series order): success runs with a valid duration;
// success attempts with a finite, non-negative duration. The day of a value
// is the day of its run's time in loc (contract section 2), not the stored
// group's: a copy of a run left at a wrong day (an old bug, until a
// backfill repairs it) must not break the series' order.
func newScriptRuns(runs []transform.Run, loc *time.Location) *scriptRuns {
	sr := &scriptRuns{series: map[int32]*series{load.RunSeries: {step: load.RunSeries}}, steps: map[int32]*stepSlot{}, interned: map[string]int32{}}
	for i := range runs {
		sr.add(&runs[i], loc)
	}
	return sr
}

// add appends the script's next run (in series order); it keeps nothing of
// r itself.
func (sr *scriptRuns) add(r *transform.Run, loc *time.Location) {
	i := len(sr.id)
	day := transform.DayOf(r.OrderedAt, loc)
	sr.id, sr.orderedUS, sr.day = append(sr.id, r.ID), append(sr.orderedUS, r.OrderedAt.UnixMicro()), append(sr.day, day)
	sr.groupDay = append(sr.groupDay, r.Day)
	add := func(s *series, v float64) {
		s.values, s.runs = append(s.values, v), append(s.runs, int32(i))
	}
	if r.Class == transform.StatusSuccess && r.Duration.Valid {
		add(sr.series[load.RunSeries], r.Duration.Float64)
	}
	for k := range r.Steps {
		st := &r.Steps[k]
		sl := sr.slot(st.Index)
		name := int32(-1)
		if st.Name.Valid {
			if sl.lastID >= 0 && sl.last == st.Name.String {
				name = sl.lastID
			} else {
				n, ok := sr.interned[st.Name.String]
				if !ok {
					n = int32(len(sr.text))
					sr.text = append(sr.text, strings.Clone(st.Name.String))
					sr.interned[sr.text[n]] = n
				}
				name, sl.last, sl.lastID = n, sr.text[n], n
			}
		}
		sl.addName(int32(i), name)
		// A step of index load.RunSeries has no series: its key is the run
		// series' (docs/detection.md, "Step indexes").
		if st.Status != transform.StepSuccess || !validDuration(st.Duration) || st.Index == load.RunSeries {
			continue
		}
		if sl.series == nil {
			sl.series = &series{step: st.Index}
			sr.series[st.Index] = sl.series
		}
		add(sl.series, st.Duration.Float64)
	}
}

// key is the run key of run i.
func (sr *scriptRuns) key(i int32) load.RunKey {
	return load.RunKey{OrderedAtUS: sr.orderedUS[i], RunID: sr.id[i]}
}

func validDuration(d transform.NullFloat) bool {
	return d.Valid && !math.IsNaN(d.Float64) && !math.IsInf(d.Float64, 0) && d.Float64 >= 0
}

// needBefore is 2r values before day at for every series of the counts
// that has values before it.
func needBefore(counts []load.DayCounts, at transform.Day, r int) map[int32]int {
	need := map[int32]int{}
	for _, c := range counts {
		if c.Day >= at {
			break
		}
		if c.Runs > 0 {
			need[load.RunSeries] = 2 * r
		}
		for j, k := range c.StepIndex {
			if c.StepSuccess[j] > 0 && k != load.RunSeries { // that step has no series
				need[k] = 2 * r
			}
		}
	}
	return need
}

// readFrom walks a script's day counts (ascending) back from the day
// before at and returns the latest day from which, by the counts, the runs
// hold need[k] values of every series k before at — or hold its first
// value.
func readFrom(counts []load.DayCounts, at transform.Day, need map[int32]int) transform.Day {
	from := at
	left := map[int32]int{}
	for k, n := range need {
		if n > 0 {
			left[k] = n
		}
	}
	take := func(day transform.Day, k int32, n uint64) {
		l, ok := left[k]
		if !ok || n == 0 {
			return
		}
		from = day
		if n >= uint64(l) {
			delete(left, k)
		} else {
			left[k] = l - int(n)
		}
	}
	i := sort.Search(len(counts), func(i int) bool { return counts[i].Day >= at }) - 1
	for ; i >= 0 && len(left) > 0; i-- {
		c := &counts[i]
		take(c.Day, load.RunSeries, c.Runs)
		for j, k := range c.StepIndex {
			if k != load.RunSeries { // that step has no series
				take(c.Day, k, c.StepSuccess[j])
			}
		}
	}
	return from
}

// seriesBefore is the series with values before day from, by the counts.
func seriesBefore(counts []load.DayCounts, from transform.Day) map[int32]bool {
	out := map[int32]bool{}
	for k := range needBefore(counts, from, 1) {
		out[k] = true
	}
	return out
}

// changeBatch collects the rows of finished scripts and writes them in
// batches; one script's rows always go in one insert.
type changeBatch struct {
	j         *Job
	version   uint64
	mu        sync.Mutex
	rows      []load.ChangeRow
	gone      []load.ChangeKey
	tailBytes int // of the change tails in rows
}

// changeBatchTailBytes bounds the change tails in one insert. They are tens
// of KB a script (~11 MB for 200 scripts at 4M runs), and in rows alone a
// batch held every script's: a first load wrote them all in one insert at
// its end, and the driver's copies of them made the pass's peak RSS
// (docs/performance.md, "Eleventh round").
const changeBatchTailBytes = 4 << 20

// add takes a script's rows and writes the batch when it is full. Called
// with mu held.
func (b *changeBatch) add(ctx context.Context, rows []load.ChangeRow, gone []load.ChangeKey, force bool) error {
	b.rows, b.gone = append(b.rows, rows...), append(b.gone, gone...)
	for i := range rows {
		b.tailBytes += len(rows[i].Tail)
	}
	if !force && len(b.rows)+len(b.gone) < detectBatch && b.tailBytes < changeBatchTailBytes {
		return nil
	}
	if len(b.rows)+len(b.gone) == 0 {
		return nil
	}
	if err := b.j.Sink.WriteChanges(ctx, b.rows, b.gone, b.version); err != nil {
		return err
	}
	clear(b.rows) // the tails written are not kept alive by the batch
	b.rows, b.gone, b.tailBytes = b.rows[:0], b.gone[:0], 0
	return b.j.failpoint(ctx, fpMidDetect)
}

// detectChanges recomputes what the pass can have changed of the change
// points of every script with a journaled group (see the top of this
// file).
func (j *Job) detectChanges(ctx context.Context, pending map[int64]load.DayRange, version uint64, asOf time.Time, sum *Summary) error {
	if len(pending) == 0 {
		return nil
	}
	start := j.Now()
	defer func() { sum.Detect.ChangesDuration = j.Now().Sub(start) }()
	tl := j.timeline()
	defer tl.done("change points: phases")
	ids := make([]int64, 0, len(pending))
	for id := range pending {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	batch := &changeBatch{j: j, version: version}
	size := j.changeScriptsChunk
	if size <= 0 {
		size = changeScriptsChunk
	}
	for chunk := 1; len(ids) > 0; chunk++ {
		n := min(len(ids), size)
		timed := tl.mark
		if chunk > 1 || n < len(ids) {
			timed = func(phase string) { tl.mark(fmt.Sprintf("chunk_%d_%s", chunk, phase)) }
		}
		if err := j.detectChangesOf(ctx, ids[:n:n], pending, batch, asOf, sum, timed); err != nil {
			return err
		}
		ids = ids[n:]
	}
	batch.mu.Lock()
	defer batch.mu.Unlock()
	err := batch.add(ctx, nil, nil, true)
	tl.mark("last_write")
	return err
}

// changeScriptsChunk is how many scripts detectChanges takes at a time:
// their stored change points and change tails (tens of KB a script) are
// read and held together, so that a pass holds the tails of a chunk, not of
// every script. Each chunk costs its own reads and rounds: at ~1,800
// scripts an incremental pass's detection took +35 % with chunks of 256
// (peak RSS −24 %), +20 % with 512 (−19 %), +1.5 % with 1,024 (−10 %);
// without chunks its peak RSS reached 527 MiB (docs/performance.md,
// "Eleventh round").
const changeScriptsChunk = 1024

// detectChangesOf recomputes the change points of the scripts ids (sorted),
// a chunk of detectChanges's, and hands their rows to batch.
func (j *Job) detectChangesOf(ctx context.Context, ids []int64, pending map[int64]load.DayRange, batch *changeBatch, asOf time.Time, sum *Summary, timed func(phase string)) error {
	opt := j.changeOptions()
	r, local := opt.Radius()
	version := batch.version
	// The counts are read while the stored change points are read and
	// their tails decoded: two round trips at once.
	counts := map[int64][]load.DayCounts{}
	var countsErr error
	countsRead := make(chan struct{})
	go func() {
		defer close(countsRead)
		if local {
			counts, countsErr = j.Sink.SeriesCounts(ctx, ids)
		}
	}()
	storedList, err := j.Sink.StoredChanges(ctx, ids)
	if err != nil {
		<-countsRead
		return err
	}
	timed("stored_read")
	stored := map[int64][]load.ChangeKey{}
	samples := map[int64]map[load.ChangeKey][2]int{}
	marks := quietMarks{}
	hasTail := map[int64]bool{}
	tails := decodeTails(storedList, j.Log)
	for _, c := range storedList {
		if c.Key.IsTail() {
			hasTail[c.Key.Series.ScriptID] = true
			continue
		}
		stored[c.Key.Series.ScriptID] = append(stored[c.Key.Series.ScriptID], c.Key)
		if c.Key.IsQuietMark() {
			marks[c.Key.Series] = c.QuietFrom
			continue
		}
		if samples[c.Key.Series.ScriptID] == nil {
			samples[c.Key.Series.ScriptID] = map[load.ChangeKey][2]int{}
		}
		samples[c.Key.Series.ScriptID][c.Key] = [2]int{c.RunsBefore, c.RunsAfter}
	}
	timed("tails_decode")
	<-countsRead
	if countsErr != nil {
		return countsErr
	}
	timed("counts_read")
	wins := map[int64]*changeWindow{}
	today, useTails := transform.DayOf(asOf, j.Zone), j.tailsApply()
	for _, id := range ids {
		w := &changeWindow{first: transform.MinDay, from: transform.MinDay, r: r, marks: local,
			stored: tails[id], hasTail: hasTail[id], tails: useTails, cut: today, version: version, samples: samples[id]}
		if local {
			w.first = pending[id].First
			// Series with a quiet mark are checked against it first; when
			// all have one, 2S values before the first changed day may be
			// enough (quiet.go).
			w.quiet = w.first > transform.MinDay
			if marks.cover(id, counts[id], w.first) {
				w.plan = needBefore(counts[id], w.first, opt.LargestScale())
			} else {
				w.plan = needBefore(counts[id], w.first, r)
			}
			w.from = readFrom(counts[id], w.first, w.plan)
			w.planned = w.from
			if t, from := tailUsable(tails[id], w.first, counts[id]); useTails && t != nil {
				w.tail, w.scanTail, w.from = t, t, from
				sum.Detect.Tails++
			}
		}
		// A stored tail the pass does not use whole is only compared by
		// its cut and options (unchangedTail, which needs w.tail ==
		// w.stored): its values need not be held.
		if w.stored != nil && w.tail != w.stored {
			w.stored = w.stored.Header()
		}
		wins[id] = w
	}
	clear(tails) // what is used is held by wins
	// Where a date can come back (days, above), the runs of the hour it
	// comes back for are stored on the day before a day they follow: a read
	// from a stored day starts a day earlier, so that it holds every run
	// after its first one.
	var readEarlier transform.Day
	if transform.DatesComeBack(j.Zone) {
		readEarlier = 1
	}
	timed("plan")
	for todo, round := ids, 1; len(todo) > 0; round++ {
		short, err := j.changeRound(ctx, todo, wins, counts, stored, marks, opt, readEarlier, batch, sum)
		if err != nil {
			return err
		}
		timed(fmt.Sprintf("round_%d", round))
		todo = todo[:0:0]
		for id, res := range short {
			w := wins[id]
			j.Log.Debug().Int64("script_id", id).Int32("step_index", res.why.step).Str("reason", res.why.reason).
				Int("p", res.why.p).Int("series_values", res.why.n).Int("change_at", res.why.at).Int("samples_from", res.why.lo).
				Str("quiet_check", res.why.quiet).Bool("from_tail", w.tail != nil).Int("tail_runs", tailRuns(w.tail)).
				Msg("change points: script read again")
			if w.tail != nil { // the tail was not enough: read as without it
				w.tail, w.from = nil, w.planned // (its scan tests may still serve: w.scanTail)
				if len(res.need) > 0 {
					// The series not proved unchanged: 2r of theirs before
					// the first changed day at once (else the read planned
					// for the quiet checks, 2S values, is short for their
					// recompute, and a third round reads further back).
					need := maps.Clone(w.plan)
					for k, n := range res.need {
						need[k] = max(need[k], n)
					}
					w.from = min(w.planned, readFrom(counts[id], w.first, need))
				}
				sum.Detect.Tails--
			} else {
				w.from = readFrom(counts[id], w.from, res.need)
			}
			todo = append(todo, id)
		}
		sum.Detect.Rereads += int64(len(short))
		slices.Sort(todo)
	}
	return nil
}

// decodeTails decodes the stored change tails, by script, on every core (a
// pass at 1M runs decodes ~4.5 MB of them). A tail that does not decode is
// left out: the script is read as if it had none, and the pass replaces it.
func decodeTails(stored []load.StoredChange, log zerolog.Logger) map[int64]*load.ChangeTail {
	var packed []*load.StoredChange
	for i := range stored {
		if stored[i].Key.IsTail() {
			packed = append(packed, &stored[i])
		}
	}
	decoded := make([]*load.ChangeTail, len(packed))
	var wg sync.WaitGroup
	workers := min(len(packed), max(1, runtime.GOMAXPROCS(0)))
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(packed); i += workers {
				t, err := load.DecodeTail(packed[i].Tail)
				if err != nil {
					log.Warn().Err(err).Int64("script_id", packed[i].Key.Series.ScriptID).Msg("change tail does not decode: reading the runs instead")
					continue
				}
				decoded[i] = t
			}
		}()
	}
	wg.Wait()
	out := make(map[int64]*load.ChangeTail, len(packed))
	for i, t := range decoded {
		if t != nil {
			out[packed[i].Key.Series.ScriptID] = t
		}
	}
	return out
}

// changeRound reads the scripts' runs from their windows' days, by groups
// of scripts with close start days (one query each), computes their change
// points on the 2 cores, and returns the scripts whose read was too short
// with the values each short series still needs.
func (j *Job) changeRound(ctx context.Context, ids []int64, wins map[int64]*changeWindow, counts map[int64][]load.DayCounts,
	stored map[int64][]load.ChangeKey, marks quietMarks, opt transform.ChangeOptions, readEarlier transform.Day, batch *changeBatch, sum *Summary) (map[int64]scriptResult, error) {
	// Group by start day: one read per power of two of days back from the
	// latest start, from the group's earliest (reading a script from an
	// earlier day than planned only costs rows).
	latest := transform.MinDay
	for _, id := range ids {
		latest = max(latest, wins[id].from)
	}
	groups := map[int][]int64{}
	for _, id := range ids {
		k := bits.Len32(uint32(latest - wins[id].from))
		groups[k] = append(groups[k], id)
	}
	short := map[int64]scriptResult{}
	var workErr error
	type script struct {
		id   int64
		runs *scriptRuns
	}
	// Unbuffered: a script is held by the reader and each worker only. The
	// reader turns the runs it read into series before handing them over:
	// a long script's runs with their steps are tens of MB, its series a
	// fifth of that.
	work := make(chan script)
	var wg sync.WaitGroup
	for range max(1, runtime.GOMAXPROCS(0)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for sc := range work {
				w := wins[sc.id]
				res, err := scriptChanges(sc.id, sc.runs, stored[sc.id], marks, w, opt)
				rows, gone := res.rows, res.gone
				batch.mu.Lock()
				switch {
				case err != nil:
					workErr = err
				case len(res.need) > 0 || res.retail:
					short[sc.id] = res
				default:
					sum.Detect.Scripts++
					for _, r := range rows {
						if r.Key.IsChangePoint() {
							sum.Detect.Changes++
						}
					}
					sum.Detect.Values += int64(res.values)
					sum.Detect.QuietSeries += int64(res.quiet)
					sum.Detect.NotQuiet += int64(res.notQuiet)
					sum.Detect.ScanTestsKept += int64(res.scanKept)
					sum.Detect.Kept += int64(res.kept)
					if res.tailKept {
						sum.Detect.TailsKept++
					}
					if err := batch.add(ctx, rows, gone, false); err != nil && workErr == nil {
						workErr = err
					}
				}
				batch.mu.Unlock()
			}
		}()
	}
	seen := map[int64]bool{}
	var readErr error
	for _, k := range slices.Sorted(maps.Keys(groups)) {
		group := groups[k]
		from := wins[group[0]].from
		for _, id := range group {
			from = min(from, wins[id].from)
		}
		for _, id := range group {
			w := wins[id]
			w.from = from
			w.before = nil
			switch {
			case w.tail != nil:
				w.before = tailBefore(w.tail)
			case w.first > transform.MinDay:
				w.before = seriesBefore(counts[id], from)
			}
		}
		readDay := from
		if readDay > transform.MinDay {
			readDay -= readEarlier
		}
		for _, part := range readParts(group, counts, readDay) {
			var cur *scriptRuns
			var curID int64
			// hand the script read so far to a worker.
			hand := func() error {
				if cur == nil {
					return nil
				}
				seen[curID] = true
				sum.Detect.RunsRead += int64(len(cur.id) - cur.tailRuns)
				work <- script{curID, cur}
				cur = nil
				batch.mu.Lock()
				defer batch.mu.Unlock()
				return workErr
			}
			readErr = j.Sink.ChangeRuns(ctx, part, readDay, func(id int64, r *transform.Run) error {
				if cur != nil && id != curID {
					if err := hand(); err != nil {
						return err
					}
				}
				if cur == nil {
					cur, curID = wins[id].start(j.Zone), id
				}
				if t := wins[id].tail; t != nil && !t.Last.Less(load.RunKey{OrderedAtUS: r.OrderedAt.UnixMicro(), RunID: r.ID}) {
					return nil // in the tail
				}
				cur.add(r, j.Zone)
				return nil
			})
			if readErr == nil {
				readErr = hand()
			}
			if readErr != nil {
				break
			}
		}
		if readErr != nil {
			break
		}
	}
	if readErr == nil {
		for _, id := range ids { // no counted run from its start day on
			if !seen[id] {
				work <- script{id, wins[id].start(j.Zone)}
			}
		}
	}
	close(work)
	wg.Wait()
	if readErr != nil {
		return nil, readErr
	}
	return short, workErr
}

// maxReadRuns bounds the runs one read of the change points asks for (by
// the counts): the server sorts a read's rows into series order before the
// first row comes back, and the first load of 10M runs in one query kept
// the client waiting past its read timeout.
const maxReadRuns = 500_000

// readParts splits scripts read from the same day into reads of at most
// maxReadRuns counted runs each (a script is never split).
func readParts(ids []int64, counts map[int64][]load.DayCounts, from transform.Day) [][]int64 {
	var parts [][]int64
	var part []int64
	var n uint64
	for _, id := range ids {
		var m uint64
		for _, c := range counts[id] {
			if c.Day >= from {
				m += c.Runs
			}
		}
		if len(part) > 0 && n+m > maxReadRuns {
			parts, part, n = append(parts, part), nil, 0
		}
		part, n = append(part, id), n+m
	}
	if len(part) > 0 {
		parts = append(parts, part)
	}
	return parts
}

// changeKeyLess orders change keys within a series as the series: by time, then
// run id.
func changeKeyLess(a, b load.ChangeKey) bool {
	return runKeyLess(load.RunKey{OrderedAtUS: a.OrderedAtUS, RunID: a.RunID}, load.RunKey{OrderedAtUS: b.OrderedAtUS, RunID: b.RunID})
}

// scriptResult is what scriptChanges found for one script.
type scriptResult struct {
	rows []load.ChangeRow // change points and quiet marks to write
	gone []load.ChangeKey // stored ones that go
	// need: series with fewer than 2r values before their first changed
	// one that may have more before w.from, and how many more each needs
	// (nothing else is set: the script is read again); with retail, how
	// many values before the first changed day each needs (2r).
	need map[int32]int
	// retail: the tail did not serve (too few values, or a change point
	// whose samples reach its runs): read again as without it.
	retail bool
	// why: the series that sent the script back to the read, and why (the
	// pass's debug log).
	why      rereadWhy
	values   int  // series values computed over
	quiet    int  // series kept by their quiet mark
	notQuiet int  // series of a quiet read not proved unchanged (recomputed)
	scanKept int  // passing scan tests taken from the tail
	kept     int  // stored change points kept as they are (keepStored)
	tailKept bool // the stored tail is left as it is (unchangedTail)
}

// rereadWhy is why a script is read again: the series, the reason, its
// first changed position p, its values, and the quiet check's verdict.
type rereadWhy struct {
	step   int32
	reason string
	p, n   int
	at     int    // a change point's position and its samples' first (reaches tail)
	lo     int    //
	quiet  string // why the quiet check failed ("" : not checked)
}

// scriptChanges computes the change points of a script's series that its
// window can have changed, from the script's counted runs read from
// w.from on (in series order): the rows to write (change points and each
// recomputed series' quiet mark) and the stored ones that go. With
// w.quiet, a series whose quiet mark and tail prove it unchanged is left
// as it is; the others are recomputed as without it.
func scriptChanges(id int64, sr *scriptRuns, stored []load.ChangeKey, marks quietMarks, w *changeWindow, opt transform.ChangeOptions) (res scriptResult, err error) {
	all := sr.series
	// Every series there is: with values read, with values before the
	// read, with stored change points.
	steps := map[int32]bool{}
	for k, s := range all {
		if len(s.values) > 0 {
			steps[k] = true
		}
	}
	for k := range w.before {
		steps[k] = true
	}
	for _, k := range stored {
		steps[k.Series.StepIndex] = true
	}
	// boundary[k]: the stored change points of series k from this key on
	// are replaced; whole[k]: all of them are.
	boundary := map[int32]load.ChangeKey{}
	whole := map[int32]bool{}
	// The tail's series whose scan tests the recompute may take
	// (changetail.go), and the passing scan tests of each series
	// recomputed (positions in s.values), for the new tail.
	known := map[int32]*load.TailSeries{}
	if t := w.scanTail; t != nil && t.ScanOptions == opt {
		for i := range t.Series {
			known[t.Series[i].Step] = &t.Series[i]
		}
	}
	scans := map[int32]transform.ScanTests{}
	kept := map[load.ChangeKey]bool{} // stored change points kept as they are (keepStored)
	// recomputed: the series not proved unchanged. When the tail does not
	// serve, each needs 2r values before the first changed day in the read
	// again (the read planned for the quiet checks holds 2S).
	var recomputed []int32
	retail := func(why rereadWhy) scriptResult {
		need := map[int32]int{}
		for _, k := range recomputed {
			need[k] = 2 * w.r
		}
		return scriptResult{retail: true, need: need, why: why}
	}
	for _, k := range slices.Sorted(maps.Keys(steps)) {
		s := all[k]
		if s == nil {
			s = &series{step: k}
		}
		n := len(s.values)
		// p: the first value on or after the first changed day. A scan, not
		// a binary search: where a date comes back (days above) the days
		// are not sorted, and every value before p must be unchanged.
		p := 0
		for p < n && sr.groupDay[s.runs[p]] < w.first && sr.day[s.runs[p]] < w.first {
			p++
		}
		quietWhy := ""
		if w.quiet {
			ok, why, err := marks.quiet(id, s, sr, p, opt)
			if err != nil {
				return scriptResult{}, err
			}
			quietWhy = why
			if ok {
				res.quiet++
				// Its values are unchanged, and so are its tail's passing
				// scan tests: the new tail keeps them (a test is a function
				// of its values alone), or the next pass that recomputes
				// the series scans them again, and the tail differs from
				// the stored one (unchangedTail).
				if ks := tailScan(sr, s, known[k], w.tail != nil, w.scanTail); ks.From < ks.To {
					scans[k] = ks
				}
				continue
			}
			// Not proved unchanged: the bounded recompute, which may need
			// the script read from further back.
			res.notQuiet++
		}
		recomputed = append(recomputed, k)
		a := max(0, p-2*w.r)
		atStart := !w.before[k] && a == 0
		if !atStart && p < 2*w.r {
			why := rereadWhy{step: k, reason: "short read", p: p, n: n, quiet: quietWhy}
			if res.need == nil {
				res.need = map[int32]int{}
				res.why = why
			}
			if w.tail != nil {
				// The tail holds too few values: read as without it.
				res.why.reason, res.retail = "tail short", true
				continue
			}
			res.need[k] = 2*w.r - p
			continue
		}
		if res.need != nil {
			continue
		}
		knownTests := tailScan(sr, s, known[k], w.tail != nil, w.scanTail).Shift(-a).Within(0, n-a)
		det, err := transform.DetectChangesWithScan(s.values[a:], sr.days(s, a), opt, knownTests)
		if err != nil {
			return scriptResult{}, err
		}
		cps, last := det.Changes, det.LastPass
		scans[k] = det.Tests.Shift(a)
		res.scanKept += det.Taken
		res.values += n - a
		for _, cp := range cps {
			if !atStart && cp.Index < w.r {
				continue // depends on values before the slice
			}
			cp.Index += a
			if key, ok := keepStored(id, sr, s, cp, p, w.samples); ok {
				kept[key] = true
				continue
			}
			if sr.reachesTail(s, cp.Index-cp.RunsBefore) {
				return retail(rereadWhy{step: k, reason: "change point reaches tail", p: p, n: n,
					at: cp.Index, lo: cp.Index - cp.RunsBefore, quiet: quietWhy}), nil
			}
			res.rows = append(res.rows, changeRow(id, sr, s, cp.Index, cp))
		}
		if mark, ok := quietMark(id, s, sr, a, last, atStart, opt); ok && w.marks {
			res.rows = append(res.rows, mark)
		}
		if atStart {
			whole[k] = true
		} else {
			i := s.runs[p-w.r]
			boundary[k] = load.ChangeKey{Series: load.SeriesKey{ScriptID: id, StepIndex: k},
				OrderedAtUS: sr.orderedUS[i], RunID: sr.id[i]}
		}
	}
	if res.retail {
		return retail(res.why), nil
	}
	if res.need != nil {
		return scriptResult{need: res.need, why: res.why}, nil
	}
	// The script's change tail, for the next pass (changetail.go).
	var tail *load.ChangeTail
	if w.marks && w.tails {
		// Every series keeps 2r values: a quiet check that fails is
		// followed by the bounded recompute, which needs 2r. Keeping 2S
		// (enough for the quiet check alone) where the mark is before the
		// cut halved the tails, but sent every script with a failing quiet
		// check back to the read of 2r values: 5–24 scripts a pass at 1M
		// runs, ~2,500 runs each, which cost more than the bytes saved
		// (docs/performance.md, "Eighth round: detection's wall time").
		keep := func(int32, load.RunKey) int { return 2 * w.r }
		tail = newTail(sr, w.before, w.tail, tailCut(sr, w.cut), keep, scans, w.version)
	}
	if tail != nil {
		tail.ScanOptions = opt
	}
	switch {
	case tail != nil && unchangedTail(tail, w):
		res.tailKept = true
	case tail != nil:
		res.rows = append(res.rows, load.ChangeRow{Key: load.TailKey(id), Tail: load.EncodeTail(tail)})
	case w.hasTail:
		res.gone = append(res.gone, load.TailKey(id))
	}
	// A change point (or mark) rewritten at the same key replaces the
	// stored row (a higher version, same sorting key); the others in the
	// recomputed range go — a series' quiet mark sorts after all its
	// change points, so it is always in that range.
	res.kept = len(kept)
	written := kept
	for _, r := range res.rows {
		written[r.Key] = true
	}
	for _, k := range stored {
		b, bounded := boundary[k.Series.StepIndex]
		inRange := whole[k.Series.StepIndex] || (bounded && !changeKeyLess(k, b))
		if inRange && !written[k] {
			res.gone = append(res.gone, k)
		}
	}
	slices.SortFunc(res.rows, func(x, y load.ChangeRow) int {
		return cmp.Or(cmp.Compare(x.Key.Series.StepIndex, y.Key.Series.StepIndex),
			cmp.Compare(x.Key.OrderedAtUS, y.Key.OrderedAtUS), cmp.Compare(x.Key.RunID, y.Key.RunID))
	})
	return res, nil
}

// keepStored says the stored row of change point cp (at cp.Index of s) is
// the row a recompute would write, so that it stays as it is: its samples
// hold runs that came from the change tail (whose steps and names the row
// needs and the tail does not keep), and end before p, the series' first
// changed position, and a change point is stored at the same run with
// samples of the same sizes. Then the stored row was computed over the same
// runs: every value before p is unchanged since the last completed pass,
// and every stored row whose samples end before p is one computed over the
// series of that pass, or of a killed pass after it whose first changed
// position is not before p (the top of this file) — the same runs at the
// same positions. Every figure of a row is a function of its samples' runs
// (values, steps, names) and of the run before them.
func keepStored(id int64, sr *scriptRuns, s *series, cp transform.ChangePoint, p int, samples map[load.ChangeKey][2]int) (load.ChangeKey, bool) {
	if !sr.reachesTail(s, cp.Index-cp.RunsBefore) || cp.Index+cp.RunsAfter > p {
		return load.ChangeKey{}, false
	}
	i := s.runs[cp.Index]
	key := load.ChangeKey{Series: load.SeriesKey{ScriptID: id, StepIndex: s.step}, OrderedAtUS: sr.orderedUS[i], RunID: sr.id[i]}
	if n, ok := samples[key]; !ok || n != [2]int{cp.RunsBefore, cp.RunsAfter} {
		return load.ChangeKey{}, false
	}
	return key, true
}

// changeRow makes the row of the change point at position at of s.
func changeRow(id int64, sr *scriptRuns, s *series, at int, cp transform.ChangePoint) load.ChangeRow {
	i := s.runs[at]
	changedAt := time.UnixMicro(sr.orderedUS[i]).UTC()
	row := load.ChangeRow{
		Key: load.ChangeKey{Series: load.SeriesKey{ScriptID: id, StepIndex: s.step},
			OrderedAtUS: sr.orderedUS[i], RunID: sr.id[i]},
		Day:           sr.day[i],
		PreviousRunID: sr.id[s.runs[at-1]],
		ChangedAt:     changedAt,
		Change:        cp,
	}
	lo, hi := at-cp.RunsBefore, at+cp.RunsAfter
	before, after := s.runs[lo:at], s.runs[at:hi]
	if s.step != load.RunSeries {
		row.StepName = sr.latestName(s.runs[lo:hi], s.step)
		return row
	}
	// What changed: the step whose median duration moved most between the
	// same two windows of runs (ties: the smaller index).
	b, a := sr.stepDurations(before), sr.stepDurations(after)
	best, bestDelta, found := int32(0), 0.0, false
	for idx, av := range a {
		bv := b[idx]
		if len(bv) == 0 {
			continue
		}
		ma, _ := transform.Median(av)
		mb, _ := transform.Median(bv)
		d := ma - mb
		if !found || math.Abs(d) > math.Abs(bestDelta) || (math.Abs(d) == math.Abs(bestDelta) && idx < best) {
			best, bestDelta, found = idx, d, true
		}
	}
	if found {
		row.TopStepIndex = transform.NullInt32{Int32: best, Valid: true}
		row.TopStepDelta = transform.NullFloat{Float64: bestDelta, Valid: true}
		row.TopStepName = sr.latestName(s.runs[lo:hi], best)
	}
	return row
}

// stepDurations gathers the step series values of the given runs
// (ascending), by step.
func (sr *scriptRuns) stepDurations(which []int32) map[int32][]float64 {
	out := map[int32][]float64{}
	if len(which) == 0 {
		return out
	}
	for k, s := range sr.series {
		if k == load.RunSeries {
			continue
		}
		// The series' positions of runs in [which[0], which[last]], then
		// those runs among which (both ascending).
		p, _ := slices.BinarySearch(s.runs, which[0])
		w := 0
		for ; p < len(s.runs) && s.runs[p] <= which[len(which)-1]; p++ {
			for w < len(which) && which[w] < s.runs[p] {
				w++
			}
			if w < len(which) && which[w] == s.runs[p] {
				out[k] = append(out[k], s.values[p])
			}
		}
	}
	return out
}

// latestName is the step's latest non-null name among the given runs
// (ascending; in series order: the last one wins).
func (sr *scriptRuns) latestName(which []int32, step int32) transform.NullString {
	sl := sr.steps[step]
	if sl == nil {
		return transform.NullString{}
	}
	for p := len(which) - 1; p >= 0; p-- {
		if !sl.present.has(which[p]) {
			continue
		}
		if name := sl.nameAt(which[p]); name >= 0 {
			return transform.NullString{String: sr.text[name], Valid: true}
		}
	}
	return transform.NullString{}
}

// start is the script's runs before its read: its change tail's when the
// pass uses it.
func (w *changeWindow) start(loc *time.Location) *scriptRuns {
	sr := newScriptRuns(nil, loc)
	if w.tail != nil {
		sr.addTail(w.tail)
	}
	return sr
}

// tailRuns is how many runs t holds (0: none).
func tailRuns(t *load.ChangeTail) int {
	if t == nil {
		return 0
	}
	return len(t.Runs)
}

// unchangedTail says the pass leaves the script's stored tail as it is
// instead of writing t: it used the stored tail whole (its first changed
// day is after the tail's MaxDay: it rewrote no group of the tail's days,
// and nor did any pass since the tail was written, or that pass would
// have written another) and t has the same cut and scan options. Then t's
// runs and values are the stored tail's — the same cut over runs none of
// which changed — and only its scan tests can differ: tests the pass
// found within a wider stretch, which a later pass computes again. The
// stored version still bounds every group of the tail's days
// (changetail.go). Writing ~50 KB per script again was most of an
// incremental pass's write (issue #10; docs/performance.md, "Ninth
// round").
func unchangedTail(t *load.ChangeTail, w *changeWindow) bool {
	return w.tail != nil && w.tail == w.stored && t.Cut == w.stored.Cut && t.ScanOptions == w.stored.ScanOptions
}
