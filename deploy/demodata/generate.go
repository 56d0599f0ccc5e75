// Package demodata generates a realistic task_log history (CONTRACT.md
// section 1) into PostgreSQL, with known stories for demos and tests, odd
// values for acceptance tests, and incremental changes between passes.
//
// Generation is deterministic for a seed, streams rows through COPY with
// bounded memory (one minute of history at a time) and never reads the
// clock: the history ends at Options.End.
package demodata

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Options describes a history to generate.
type Options struct {
	Scripts int       // number of scripts (ids 1..Scripts)
	Days    int       // length of the history window, ending at End
	Runs    int       // task_log rows (ids 1..Runs)
	End     time.Time // the history ends here (exclusive); required
	Seed    int64
	// StepsShare is the share of started runs that carry a steps array.
	StepsShare         float64
	MinSteps, MaxSteps int // steps per script (defaults 3 and 14)
	Stories            bool
	// DetectionStories adds two story scripts for detection (with Stories):
	// a +50 % shift of the whole run from a known day (Stories.Shift) and
	// a step failing every attempt from a known instant (Stories.Broken).
	DetectionStories bool
	Odd              bool
	// OddRate is the share of runs given an odd value in odd mode (default
	// 0.02). Odd runs belong to scripts without a story; their kinds take
	// turns, so every kind appears once there are enough odd runs.
	OddRate float64
	// HugeErrorBytes, when > 0, gives one run (id Runs/2+1) an error_message
	// of that many bytes, e.g. 10 MB.
	HugeErrorBytes int
	// Parallel is the number of COPY streams (connections) of the load
	// (default 2). The data do not depend on it.
	Parallel int
}

// DefaultOptions are the demo's: 120 scripts, 90 days, 600k runs, 85% with
// steps, stories on.
func DefaultOptions(end time.Time) Options {
	return Options{Scripts: 120, Days: 90, Runs: 600_000, End: end, Seed: 1,
		StepsShare: 0.85, MinSteps: 3, MaxSteps: 14, Stories: true, OddRate: 0.02, Parallel: 2}
}

func (o *Options) normalize() error {
	if o.MinSteps == 0 && o.MaxSteps == 0 {
		o.MinSteps, o.MaxSteps = 3, 14
	}
	if o.Parallel <= 0 {
		o.Parallel = 2
	}
	if o.Odd && o.OddRate == 0 {
		o.OddRate = 0.02
	}
	switch {
	case o.Scripts < 1:
		return errors.New("scripts must be at least 1")
	case o.Days < 1 || o.Days > 3660:
		return errors.New("days must be between 1 and 3660")
	case o.Runs < 0:
		return errors.New("runs must not be negative")
	case o.End.IsZero():
		return errors.New("end time is required")
	case o.StepsShare < 0 || o.StepsShare > 1:
		return errors.New("steps share must be between 0 and 1")
	case o.MinSteps < 1 || o.MaxSteps < o.MinSteps:
		return errors.New("steps per script: need 1 <= min <= max")
	case o.OddRate < 0 || o.OddRate > 1:
		return errors.New("odd rate must be between 0 and 1")
	}
	o.End = o.End.UTC().Truncate(time.Microsecond)
	return nil
}

// Summary describes what Generate wrote.
type Summary struct {
	Runs       int64            `json:"runs"`
	Scripts    int              `json:"scripts"`
	FirstID    int64            `json:"first_id"`
	LastID     int64            `json:"last_id"`
	Start      time.Time        `json:"start"` // the window: [Start, End)
	End        time.Time        `json:"end"`
	WithSteps  int64            `json:"with_steps"`
	ByStatus   map[string]int64 `json:"by_status"`
	Stories    Stories          `json:"stories"`
	Odd        *OddSummary      `json:"odd,omitempty"`
	HugeError  int64            `json:"huge_error_run_id,omitempty"`
	ScriptList []ScriptInfo     `json:"-"`
}

// ScriptInfo names a script.
type ScriptInfo struct {
	ID    int64
	Name  string
	Steps []string
}

// Stories are the known patterns in the history (nil when Options.Stories
// is off or there are too few scripts). Days are UTC calendar dates; From is
// their midnight UTC, and a run is affected when coalesce(started_at,
// created_at) >= From.
type Stories struct {
	Regression *Regression `json:"regression,omitempty"`
	Flaky      *StepStory  `json:"flaky,omitempty"`
	Breaking   *StepStory  `json:"breaking,omitempty"`
	Renamed    *Rename     `json:"renamed,omitempty"`
	Running    *Running    `json:"running,omitempty"`
	Late       *Late       `json:"late_updates,omitempty"`
	// Detection stories (Options.DetectionStories): Shift has StepIndex −1
	// (every step and the overhead); Broken fails every attempt (Rate 1)
	// from From, three days before the end.
	Shift  *Regression `json:"shift,omitempty"`
	Broken *StepStory  `json:"broken,omitempty"`
}

// Regression: from Day on, step StepIndex of the script is slower so that
// the script's runs take Ratio (1.4) times as long.
type Regression struct {
	ScriptID   int64     `json:"script_id"`
	ScriptName string    `json:"script_name"`
	StepIndex  int       `json:"step_index"`
	StepName   string    `json:"step_name"`
	Day        string    `json:"day"`
	From       time.Time `json:"from"`
	Ratio      float64   `json:"ratio"`
}

// StepStory: a step that fails at Rate — at random over the whole window
// (flaky; Day empty), or from Day on (breaking; before it never).
type StepStory struct {
	ScriptID   int64     `json:"script_id"`
	ScriptName string    `json:"script_name"`
	StepIndex  int       `json:"step_index"`
	StepName   string    `json:"step_name"`
	Rate       float64   `json:"rate"`
	Day        string    `json:"day,omitempty"`
	From       time.Time `json:"from,omitzero"`
}

// Rename: step StepIndex is called OldName before Day and NewName from Day on.
type Rename struct {
	ScriptID   int64     `json:"script_id"`
	ScriptName string    `json:"script_name"`
	StepIndex  int       `json:"step_index"`
	OldName    string    `json:"old_name"`
	NewName    string    `json:"new_name"`
	Day        string    `json:"day"`
	From       time.Time `json:"from"`
}

// Running: unfinished runs at the end of the history. Every 10th run created
// in the last hour (Since..End) is still running, every 20th of the two hours
// before is queued and every 20th pending (plus runs that had not started or
// finished by End).
type Running struct {
	Since   time.Time `json:"since"`
	Running int64     `json:"running_last_hour"` // status running, created since Since
	Queued  int64     `json:"queued"`
	Pending int64     `json:"pending"`
	IDs     []int64   `json:"running_ids"` // the first 50 running ones
}

// Late: runs that failed, were re-run successfully days later and updated
// in place: status success, updated_at more than a day after created_at.
// Count is exactly the number of rows with updated_at > created_at + 1 day.
type Late struct {
	Count    int64         `json:"count"`
	MinDelay time.Duration `json:"min_delay_ns"`
	IDs      []int64       `json:"ids"` // the first 50
}

// OddSummary counts the odd values written, by kind (see oddKinds).
type OddSummary struct {
	Counts          map[string]int64 `json:"counts"`
	Total           int64            `json:"total"`
	MissingScriptID int64            `json:"missing_script_id"`
	Zones           []string         `json:"zones"`
	// SpecialRuns are runs put at fixed instants: ±1 s … ±1 µs around the
	// local midnights of Zones and around DST changes (±30 min too).
	SpecialRuns int64       `json:"special_runs"`
	DSTChanges  []DSTChange `json:"dst_changes"`
}

const maxIDs = 50

// Generate writes the scripts and task_log rows of opt into the database:
// it creates the reference schema where missing, requires both tables
// empty, loads them with COPY (task_log's secondary indexes are dropped for
// the load and built afterwards) over Options.Parallel connections and
// ANALYZEs them. progress, if not nil, is called now and then with the rows
// written so far, from other goroutines (one call at a time).
func Generate(ctx context.Context, pool *pgxpool.Pool, opt Options, progress func(done, total int)) (Summary, error) {
	if err := opt.normalize(); err != nil {
		return Summary{}, err
	}
	if err := EnsureSchema(ctx, pool); err != nil {
		return Summary{}, err
	}
	var nonEmpty bool
	if err := pool.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM task_log) OR EXISTS (SELECT 1 FROM scripts)").Scan(&nonEmpty); err != nil {
		return Summary{}, fmt.Errorf("check tables: %w", err)
	}
	if nonEmpty {
		return Summary{}, errors.New("task_log or scripts already has rows: reset them first")
	}
	p, err := newPlan(opt)
	if err != nil {
		return Summary{}, err
	}

	scriptRows := make([][]any, 0, len(p.m.scripts))
	for _, s := range p.m.scripts {
		scriptRows = append(scriptRows, []any{s.id, p.scriptName(s)})
	}
	if _, err := pool.CopyFrom(ctx, pgx.Identifier{"scripts"}, []string{"id", "name"}, pgx.CopyFromRows(scriptRows)); err != nil {
		return Summary{}, fmt.Errorf("copy scripts: %w", err)
	}

	conn, err := pool.Acquire(ctx)
	if err != nil {
		return Summary{}, fmt.Errorf("connect: %w", err)
	}
	names, defs, err := secondaryIndexes(ctx, conn.Conn())
	if err == nil {
		for _, n := range names {
			if _, err = conn.Exec(ctx, "DROP INDEX "+n); err != nil {
				break
			}
		}
	}
	conn.Release()
	if err != nil {
		return Summary{}, fmt.Errorf("drop task_log's indexes for the load: %w", err)
	}

	copyErr := p.copyRuns(ctx, pool, progress)
	// Put the indexes back even when the load failed, in parallel.
	idxErr := parallel(context.WithoutCancel(ctx), opt.Parallel, len(defs), func(ctx context.Context, i int) error {
		_, err := pool.Exec(ctx, defs[i])
		return err
	})
	if copyErr != nil {
		return Summary{}, fmt.Errorf("copy task_log: %w", copyErr)
	}
	if idxErr != nil {
		return Summary{}, fmt.Errorf("create index: %w", idxErr)
	}
	if progress != nil {
		progress(opt.Runs, opt.Runs)
	}
	if _, err := pool.Exec(ctx, "ANALYZE scripts; ANALYZE task_log"); err != nil {
		return Summary{}, fmt.Errorf("analyze: %w", err)
	}
	return p.summary(), nil
}

// parallel runs fn(0..n-1) on up to workers goroutines; the first error
// cancels the rest.
func parallel(ctx context.Context, workers, n int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var next atomic.Int64
	errs := make(chan error, workers)
	for range workers {
		go func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					errs <- nil
					return
				}
				if err := fn(ctx, i); err != nil {
					cancel()
					errs <- err
					return
				}
			}
		}()
	}
	var first error
	for range workers {
		if err := <-errs; err != nil && (first == nil || errors.Is(first, context.Canceled)) {
			first = err
		}
	}
	return first
}

// plan is the immutable description of a generation, shared by the workers.
// The history is cut into chunks of one day of slots; each chunk has its own
// random stream and a known first id, so the data do not depend on how many
// workers load it or in which order.
type plan struct {
	opt    Options
	m      *model
	tl     *timeline
	start  time.Time
	chunks []chunk
	base   Summary // everything but the per-run counts
	// odd mode: a run is odd when splitmix(seed^id) < oddCut; its kind is
	// the count of odd ids before it, modulo len(oddKinds).
	oddCut uint64

	mu    sync.Mutex
	parts []*part
}

type chunk struct {
	firstSlot, endSlot int
	firstID            int64
	firstPoint         int
	oddBefore          int
}

const chunkSlots = 1440

func newPlan(opt Options) (*plan, error) {
	start := opt.End.Add(-time.Duration(opt.Days) * 24 * time.Hour)
	m := buildModel(opt)
	p := &plan{opt: opt, m: m, start: start}
	p.base = Summary{Scripts: opt.Scripts, Start: start, End: opt.End}

	// Story days, as UTC dates inside the window.
	day0 := time.Date(start.Year(), start.Month(), start.Day(), 0, 0, 0, 0, time.UTC)
	storyDay := func(num, den int) time.Time {
		return day0.AddDate(0, 0, max(1, opt.Days*num/den))
	}
	m.regressFrom, m.breakFrom, m.renameFrom = storyDay(2, 3), storyDay(1, 2), storyDay(1, 3)
	st := &p.base.Stories
	m.shiftFrom = storyDay(1, 2)
	m.brokenFrom = day0.AddDate(0, 0, max(1, opt.Days-3))
	if s := m.shifted; s != nil {
		st.Shift = &Regression{ScriptID: s.id, ScriptName: s.name, StepIndex: -1,
			Day: m.shiftFrom.Format(time.DateOnly), From: m.shiftFrom, Ratio: shiftRatio}
	}
	if s := m.broken; s != nil {
		st.Broken = &StepStory{ScriptID: s.id, ScriptName: s.name, StepIndex: s.brokenStep,
			StepName: s.steps[s.brokenStep].name, Rate: 1, Day: m.brokenFrom.Format(time.DateOnly), From: m.brokenFrom}
	}
	if s := m.regress; s != nil {
		st.Regression = &Regression{ScriptID: s.id, ScriptName: s.name, StepIndex: s.regressStep,
			StepName: s.steps[s.regressStep].name, Day: m.regressFrom.Format(time.DateOnly), From: m.regressFrom, Ratio: regressRatio}
	}
	if s := m.flaky; s != nil {
		st.Flaky = &StepStory{ScriptID: s.id, ScriptName: s.name, StepIndex: s.flakyStep,
			StepName: s.steps[s.flakyStep].name, Rate: flakyRate}
	}
	if s := m.breaking; s != nil {
		st.Breaking = &StepStory{ScriptID: s.id, ScriptName: s.name, StepIndex: s.breakStep,
			StepName: s.steps[s.breakStep].name, Rate: breakingRate, Day: m.breakFrom.Format(time.DateOnly), From: m.breakFrom}
	}
	if s := m.renamedS; s != nil {
		st.Renamed = &Rename{ScriptID: s.id, ScriptName: s.name, StepIndex: s.renameStep,
			OldName: s.steps[s.renameStep].name, NewName: s.renameTo, Day: m.renameFrom.Format(time.DateOnly), From: m.renameFrom}
	}

	var points []point
	if opt.Odd {
		pts, changes, err := specialPoints(start, opt.End, opt.Seed, opt.Runs/10)
		if err != nil {
			return nil, fmt.Errorf("time zones: %w", err)
		}
		points = pts
		p.base.Odd = &OddSummary{MissingScriptID: missingScriptID(opt.Scripts),
			Zones: oddZones, SpecialRuns: int64(len(pts)), DSTChanges: changes}
		p.oddCut = uint64(opt.OddRate * (1 << 63) * 2)
		if opt.OddRate >= 1 {
			p.oddCut = ^uint64(0)
		}
	}
	p.tl = newTimeline(start, opt.End, opt.Seed, opt.Runs, points)
	for _, s := range m.scripts {
		info := ScriptInfo{ID: s.id, Name: p.scriptName(s)}
		for _, st := range s.steps {
			info.Steps = append(info.Steps, st.name)
		}
		p.base.ScriptList = append(p.base.ScriptList, info)
	}

	// Chunks: first ids from the slot counts and the fixed instants.
	id, pi, odd := int64(1), 0, 0
	for first := 0; first < p.tl.slots; first += chunkSlots {
		c := chunk{firstSlot: first, endSlot: min(first+chunkSlots, p.tl.slots), firstID: id, firstPoint: pi, oddBefore: odd}
		n := int64(0)
		for i := c.firstSlot; i < c.endSlot; i++ {
			n += int64(p.tl.counts[i])
		}
		_, b := p.tl.bounds(c.endSlot - 1)
		for pi < len(points) && points[pi].t.Before(b) {
			pi++
			n++
		}
		for k := id; k < id+n; k++ {
			if p.isOdd(k) {
				odd++
			}
		}
		id += n
		p.chunks = append(p.chunks, c)
	}
	return p, nil
}

func (p *plan) isOdd(id int64) bool {
	return p.oddCut != 0 && splitmix(uint64(p.opt.Seed)^uint64(id)*0x2545f4914f6cdd1d) < p.oddCut
}

// scriptName is the scripts.name of s; odd mode gives two scripts odd names.
func (p *plan) scriptName(s *script) string {
	if p.opt.Odd && !s.story {
		switch s.id {
		case 2:
			return s.name + " 🚀 (Prüfung)"
		case 3:
			return s.name + "-" + strings.Repeat("long-name-", 60)
		}
	}
	return s.name
}

// part holds one worker's counts, merged into the summary at the end.
type part struct {
	runs, withSteps int64
	byStatus        map[string]int64
	odd             map[string]int64
	oddTotal        int64
	running         Running
	late            Late
	hugeError       int64
}

func (p *plan) summary() Summary {
	s := p.base
	s.ByStatus = map[string]int64{}
	run, late := &Running{Since: p.opt.End.Add(-time.Hour)}, &Late{}
	var odd map[string]int64
	var oddTotal int64
	if s.Odd != nil {
		odd = map[string]int64{}
	}
	for _, pt := range p.parts {
		s.Runs += pt.runs
		s.WithSteps += pt.withSteps
		for k, v := range pt.byStatus {
			s.ByStatus[k] += v
		}
		for k, v := range pt.odd {
			odd[k] += v
		}
		oddTotal += pt.oddTotal
		run.Running += pt.running.Running
		run.Queued += pt.running.Queued
		run.Pending += pt.running.Pending
		run.IDs = append(run.IDs, pt.running.IDs...)
		late.Count += pt.late.Count
		if late.MinDelay == 0 || (pt.late.MinDelay != 0 && pt.late.MinDelay < late.MinDelay) {
			late.MinDelay = pt.late.MinDelay
		}
		late.IDs = append(late.IDs, pt.late.IDs...)
		s.HugeError = max(s.HugeError, pt.hugeError)
	}
	slices.Sort(run.IDs)
	slices.Sort(late.IDs)
	run.IDs = run.IDs[:min(len(run.IDs), maxIDs)]
	late.IDs = late.IDs[:min(len(late.IDs), maxIDs)]
	if p.opt.Stories {
		s.Stories.Running, s.Stories.Late = run, late
	}
	if s.Odd != nil {
		o := *s.Odd
		o.Counts, o.Total = odd, oddTotal
		s.Odd = &o
	}
	if s.Runs > 0 {
		s.FirstID, s.LastID = 1, s.Runs
	}
	return s
}

// copyRuns loads task_log over opt.Parallel COPY streams; each takes the
// next chunk when it is done with one.
func (p *plan) copyRuns(ctx context.Context, pool *pgxpool.Pool, progress func(done, total int)) error {
	var next atomic.Int64
	var done atomic.Int64
	var progMu sync.Mutex
	report := func(n int64) {
		d := done.Add(n)
		if progress != nil && progMu.TryLock() {
			progress(int(d), p.opt.Runs)
			progMu.Unlock()
		}
	}
	return parallel(ctx, p.opt.Parallel, p.opt.Parallel, func(ctx context.Context, _ int) error {
		w := p.newWorker(ctx, &next, report)
		_, err := pool.CopyFrom(ctx, pgx.Identifier{"task_log"}, taskLogColumns, w)
		if err == nil {
			err = w.err
		}
		return err
	})
}

// worker is one COPY stream's pgx.CopyFromSource: it generates the runs of
// chunk after chunk, one slot (minute) at a time.
type worker struct {
	p      *plan
	ctx    context.Context
	next   *atomic.Int64
	report func(n int64)
	pt     *part
	row    []any
	err    error

	// the current chunk
	r         *rand.Rand
	b         builder
	items     []slotItem
	pos       int
	slot, end int
	pi        int
	id        int64
	oddSeq    int
	unreport  int64
	lastHour  int // runs created in the last hour so far (this chunk)
	last3h    int // runs created 1 to 3 hours before the end
	jsonBuf   []byte
	rn        run
	haveChunk bool
}

// newWorker returns a CopyFromSource that takes chunks from next.
func (p *plan) newWorker(ctx context.Context, next *atomic.Int64, report func(n int64)) *worker {
	w := &worker{p: p, ctx: ctx, next: next, report: report, row: make([]any, len(taskLogColumns)),
		pt: &part{byStatus: map[string]int64{}, odd: map[string]int64{}}}
	w.b.m = p.m
	p.mu.Lock()
	p.parts = append(p.parts, w.pt)
	p.mu.Unlock()
	return w
}

func (w *worker) nextChunk() bool {
	i := int(w.next.Add(1) - 1)
	if i >= len(w.p.chunks) {
		return false
	}
	c := w.p.chunks[i]
	w.r = newRand(w.p.opt.Seed, 1000+uint64(i))
	w.b.r = w.r
	w.slot, w.end, w.pi, w.id, w.oddSeq = c.firstSlot, c.endSlot, c.firstPoint, c.firstID-1, c.oddBefore
	w.lastHour, w.last3h = 0, 0
	w.items, w.pos = w.items[:0], 0
	return true
}

func (w *worker) Next() bool {
	for w.pos >= len(w.items) {
		if w.slot >= w.end || !w.haveChunk {
			if !w.nextChunk() {
				w.report(w.unreport)
				w.unreport = 0
				return false
			}
			w.haveChunk = true
			continue
		}
		w.items = w.p.tl.fill(w.slot, w.r, &w.pi, w.items)
		w.pos = 0
		w.slot++
	}
	it := w.items[w.pos]
	w.pos++
	w.id++
	if w.unreport++; w.unreport == 4096 {
		w.report(w.unreport)
		w.unreport = 0
		if err := w.ctx.Err(); err != nil {
			w.err = err
			return false
		}
	}
	w.makeRun(&w.rn, w.id, time.UnixMicro(it.us).UTC(), it.special)
	w.rn.values(w.row)
	return true
}

func (w *worker) Values() ([]any, error) { return w.row, nil }
func (w *worker) Err() error             { return w.err }

// makeRun builds run id created at c. special: 0 regular, 1 started exactly
// at c, 2 never started (cancelled while queued).
func (w *worker) makeRun(rn *run, id int64, c time.Time, special int8) {
	p, r, m, b, end := w.p, w.r, w.p.m, &w.b, w.p.opt.End
	odd := p.isOdd(id)
	oddKind := ""
	if odd {
		oddKind = oddKinds[w.oddSeq%len(oddKinds)]
		w.oddSeq++
		if special == 2 {
			special = 1
		}
	}
	var s *script
	if odd {
		s = m.pickNonStory(r)
	} else {
		s = m.pick(r)
	}
	*rn = run{id: id, scriptID: s.id, created: c, updated: c}
	withSteps := r.Float64() < p.opt.StepsShare

	// The end of the history: a few runs not finished yet. In the last hour
	// the 1st, 11th, 21st, … regular run is still running; one to three
	// hours before the end the 1st, 21st, … is pending and the 2nd, 22nd, …
	// queued.
	mode := 0 // 1 running, 2 queued, 3 pending
	if special == 0 && !odd && !c.Before(end.Add(-3*time.Hour)) {
		if !c.Before(end.Add(-time.Hour)) {
			w.lastHour++
			if w.lastHour%10 == 1 {
				mode = 1
			}
		} else {
			w.last3h++
			switch w.last3h % 20 {
			case 1:
				mode = 3
			case 2:
				mode = 2
			}
		}
	}
	switch mode {
	case 2:
		w.finish(rn, "queued", false)
		return
	case 3:
		w.finish(rn, "pending", false)
		return
	}

	delay := 0.0
	if special == 0 && mode == 0 {
		delay = r.ExpFloat64() * 3
		if r.Float64() < 0.05 {
			delay += 10 + 110*r.Float64()
		}
	}
	started := addSec(c, delay)
	u := r.Float64()
	if odd {
		u = 1
	}
	if special == 2 || (mode == 0 && special == 0 && u < 0.0035) {
		fin := addSec(c, 5+600*r.Float64())
		if special == 2 {
			fin = addSec(c, 1+60*r.Float64())
		}
		if fin.After(end) {
			w.finish(rn, "queued", false)
			return
		}
		rn.finished = some(fin)
		rn.errMsg, rn.hasErr = cancelMessage(r, true), true
		rn.updated = fin
		w.finish(rn, "cancelled", false)
		return
	}
	if !started.Before(end) {
		w.finish(rn, "queued", false)
		return
	}
	rn.started = some(started)

	status, failedAt, total := b.simulate(s, started, false)
	if mode == 0 && special == 0 && u < 0.008 {
		status, failedAt = "cancelled", -1
		total = b.cancelAt(r.IntN(len(b.els)))
		rn.errMsg, rn.hasErr = cancelMessage(r, false), true
	}
	fin := addSec(started, total+0.3*r.Float64())
	if mode == 1 || fin.After(end) {
		limit := end.Sub(started).Seconds()
		k, elapsed := b.completedBefore(limit)
		if mode == 1 && len(b.els) > 0 {
			k = min(k, r.IntN(len(b.els)))
			elapsed = 0
			for _, e := range b.els[:k] {
				elapsed += e.dur
			}
		}
		b.els = b.els[:k]
		rn.hasErr = false
		rn.updated = addSec(started, elapsed)
		w.finish(rn, "running", withSteps && k > 0)
		return
	}
	rn.finished = some(fin)
	rn.updated = addSec(fin, 0.05*r.Float64())
	if failedAt >= 0 {
		rn.failedIdx, rn.hasFailedIdx = int32(failedAt), true
		rn.failedName, rn.hasFailedName = b.els[failedAt].name, true
		rn.errMsg, rn.hasErr = b.failMsg, true
	}
	// Late updates: a failure re-run successfully days later, in place.
	if failedAt >= 0 && !s.story && c.Before(end.Add(-48*time.Hour)) && r.Float64() < 0.05 {
		at := addSec(fin, 86400*(1.05+4*r.Float64()))
		if lim := end.Add(-time.Minute); at.After(lim) {
			at = lim
		}
		if at.Sub(c) > 24*time.Hour+time.Minute {
			status, _, total = b.simulate(s, started, true)
			rn.finished = some(addSec(started, total+0.3*r.Float64()))
			rn.hasFailedIdx, rn.hasFailedName, rn.hasErr = false, false, false
			rn.updated = at
			l := &w.pt.late
			l.Count++
			if d := at.Sub(c); l.MinDelay == 0 || d < l.MinDelay {
				l.MinDelay = d
			}
			if len(l.IDs) < maxIDs {
				l.IDs = append(l.IDs, id)
			}
		}
	}
	rn.status = status
	if r.Float64() >= 0.03 { // else the runner reported none
		rn.duration, rn.hasDuration = total, true
	}
	if rn.updated.After(end) {
		rn.updated = end
	}

	useEls := withSteps
	if odd && len(b.els) > 0 {
		if want, force := oddWantsSteps(oddKind); force {
			useEls = want
		}
		useEls = b.applyOdd(rn, oddKind, p.opt.Scripts, useEls)
		w.pt.odd[oddKind]++
		w.pt.oddTotal++
	}
	w.finish(rn, rn.status, useEls)
}

// finish sets the status, writes the steps and counts the run.
func (w *worker) finish(rn *run, status string, useEls bool) {
	rn.status = status
	if useEls && rn.steps == nil {
		w.jsonBuf = appendSteps(w.jsonBuf[:0], w.b.els)
		rn.steps = w.jsonBuf
	}
	if rn.updated.Before(rn.created) {
		rn.updated = rn.created
	}
	if n := w.p.opt.HugeErrorBytes; n > 0 && rn.id == int64(w.p.opt.Runs/2+1) {
		rn.errMsg, rn.hasErr = longText(w.r, n), true
		w.pt.hugeError = rn.id
	}
	pt := w.pt
	pt.runs++
	if rn.steps != nil {
		pt.withSteps++
	}
	pt.byStatus[rn.status]++
	switch status {
	case "running":
		if !rn.created.Before(w.p.opt.End.Add(-time.Hour)) {
			pt.running.Running++
			if len(pt.running.IDs) < maxIDs {
				pt.running.IDs = append(pt.running.IDs, rn.id)
			}
		}
	case "queued":
		pt.running.Queued++
	case "pending":
		pt.running.Pending++
	}
}
