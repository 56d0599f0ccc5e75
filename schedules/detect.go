package schedules

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/sync/errgroup"

	"github.com/scriptstats/scriptstats/load"
	"github.com/scriptstats/scriptstats/transform"
)

// Detection (CONTRACT.md 2b): the duration change points and the step
// health, recomputed at the end of every pass, after the groups and before
// the state. What it recomputes is derived from the journal (the groups
// journaled after the last completed pass) and from the stored next health
// checks, never from what this process saw: a pass killed anywhere is
// finished by the next one, like the groups.
//
// Change points. Of every series of a script with a journaled group, the
// part the pass can have changed, from the first changed day on, is
// recomputed and its stored change points replaced; the whole series when
// the method has no bounded dependency radius (detect_changes.go).
//
// Step health. A step's state is a function of the executions of the 14
// days before the pass: it changes when an execution enters that window
// (new data, or a future-dated run whose time comes), leaves it, or when a
// failure leaves the last 24 h. The first is the journal; for the others
// every script keeps the first time one can happen (health_checks), and a
// pass at or after it recomputes the script. Everything else stays exact
// without being read.

const fpMidDetect = "mid_detect" // some detection rows written, not all

// DetectSummary is what detection did in a pass.
type DetectSummary struct {
	Scripts         int64 // scripts whose change points were recomputed
	Changes         int64 // change points written
	RunsRead        int64 // runs read for the change points
	Values          int64 // series values the change points were computed over
	Rereads         int64 // scripts read again from further back (short series)
	QuietSeries     int64 // series proved unchanged by their quiet mark (nothing recomputed)
	NotQuiet        int64 // series of a quiet read not proved unchanged (recomputed)
	Tails           int64 // scripts whose values before the changed days came from their change tail
	TailsKept       int64 // of those, scripts whose stored tail was left as it is (unchangedTail)
	ScanTestsKept   int64 // passing scan tests taken from change tails, not computed again
	Kept            int64 // change points whose samples reach a tail's runs, kept as stored (keepStored)
	StepsClassified int64 // step health rows written
	// Step health's days: taken whole from their stored summary, read run
	// by run (and the runs read), summaries written.
	HealthDaysSummarized, HealthDaysRead, HealthRunsRead, HealthDaysWritten int64
	Duration                                                                time.Duration
	ChangesDuration                                                         time.Duration // of Duration: the change points
	HealthDuration                                                          time.Duration // of Duration: the step health
}

func (d DetectSummary) dict() *zerolog.Event {
	return zerolog.Dict().Int64("scripts", d.Scripts).Int64("change_points_written", d.Changes).
		Int64("runs_read", d.RunsRead).Int64("values", d.Values).Int64("rereads", d.Rereads).
		Int64("quiet_series", d.QuietSeries).Int64("not_quiet", d.NotQuiet).Int64("tails", d.Tails).Int64("tails_kept", d.TailsKept).Int64("scan_tests_kept", d.ScanTestsKept).
		Int64("change_points_kept", d.Kept).
		Int64("steps_classified", d.StepsClassified).Int64("health_days_summarized", d.HealthDaysSummarized).
		Int64("health_days_read", d.HealthDaysRead).Int64("health_runs_read", d.HealthRunsRead).
		Int64("health_days_written", d.HealthDaysWritten).Dur("duration", d.Duration).
		Dur("changes_duration", d.ChangesDuration).Dur("health_duration", d.HealthDuration)
}

// detectBatch is how many rows go into one insert.
const detectBatch = 5000

// confirmOverride, from SCRIPTSTATS_CHANGE_CONFIRM_WINDOW, replaces the
// persistence window of the change-point method: a hook for tests and
// benchmarks (0 runs the reference scan alone, whose dependency radius is
// bounded), not a setting. Unset in production.
var confirmOverride = os.Getenv("SCRIPTSTATS_CHANGE_CONFIRM_WINDOW")

func (j *Job) changeOptions() transform.ChangeOptions {
	if j.ChangeOptions != nil {
		return *j.ChangeOptions
	}
	opt := transform.DefaultChangeOptions()
	if j.ChangeWindow > 0 {
		opt.Window = j.ChangeWindow
		opt.ConfirmWindow = max(opt.ConfirmWindow, opt.Window)
	}
	if n, set, err := parseConfirmOverride(confirmOverride); set && err == nil {
		opt.ConfirmWindow = n
		if n > 0 {
			opt.ConfirmWindow = max(n, opt.Window)
		}
	}
	return opt
}

// parseConfirmOverride reads the hook's value; one that does not parse is
// an error (detect refuses to run), not the defaults.
func parseConfirmOverride(v string) (n int, set bool, err error) {
	if v == "" {
		return 0, false, nil
	}
	n, err = strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, true, fmt.Errorf("SCRIPTSTATS_CHANGE_CONFIRM_WINDOW=%q: want a whole number ≥ 0 (0: the change-point scan alone), or unset", v)
	}
	return n, true, nil
}

// changeMethod names the change-point options (load.State.ChangeMethod)
// and the key of the run series. Versions that keyed it −1 merged a real
// step −1 into it and stored a method without the key; migration 0013
// moved their −1 rows to load.RunSeries, and the first pass of this
// version, seeing another method, recomputes every script's whole series
// (steps −1 apart from the runs) and replaces every stored row
// (docs/detection.md, "Step indexes"). changeMethodVersion names the
// method's definition: a version whose output differs for the same
// options bumps it, so that the first pass of an upgrade recomputes every
// stored change point.
func (j *Job) changeMethod() string {
	return fmt.Sprintf("%+v run series %d method %d", j.changeOptions(), load.RunSeries, changeMethodVersion)
}

// changeMethodVersion: 3 is the near level and the one-day rule's refill
// within the bounding changes (docs/detection.md, "Short plateaus and
// staircases"); 2 round 3 of the persistence check and the one-day rule's
// direction ("Spikes next to chance moves"); 1 (unnamed in the stored
// method) the method before them.
const changeMethodVersion = 3

// detect recomputes what the pass may have changed. storedMethod is the
// change-point options the stored change points were computed with: other
// options than this pass's make it recompute every script's whole series.
func (j *Job) detect(ctx context.Context, after, version uint64, asOf time.Time, storedMethod string, sum *Summary) error {
	if _, _, err := parseConfirmOverride(confirmOverride); err != nil {
		return err
	}
	start := j.Now()
	pending, err := j.Sink.PendingScripts(ctx, after)
	if err != nil {
		return err
	}
	changed := pending
	if storedMethod != j.changeMethod() {
		ids, err := j.Sink.DetectionScripts(ctx)
		if err != nil {
			return err
		}
		changed = map[int64]load.DayRange{}
		for _, id := range ids {
			changed[id] = load.DayRange{First: transform.MinDay, Last: transform.MaxDay}
		}
		for id := range pending {
			changed[id] = load.DayRange{First: transform.MinDay, Last: transform.MaxDay}
		}
	}
	// The change points and the step health at once: they read what the
	// pass wrote before detection and write different tables
	// (duration_changes_state; step_health_state, health_checks,
	// health_days_state), each derived from the journal and the stored
	// checks alone, so neither reads what the other writes, and a pass
	// killed with one of them half written is finished by the next pass as
	// when they ran one after the other. The first error cancels the other.
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return j.detectChanges(gctx, changed, version, asOf, sum) })
	g.Go(func() error {
		healthStart := j.Now()
		defer func() { sum.Detect.HealthDuration = j.Now().Sub(healthStart) }()
		return j.detectHealth(gctx, pending, asOf, version, sum)
	})
	if err := g.Wait(); err != nil {
		return err
	}
	if err := j.Sink.WriteDetectionAsOf(ctx, asOf, version); err != nil {
		return err
	}
	sum.Detect.Duration = j.Now().Sub(start)
	return nil
}

// detectHealth recomputes the step health of the scripts with a journaled
// group in the window and of those due for a check.
func (j *Job) detectHealth(ctx context.Context, pending map[int64]load.DayRange, asOf time.Time, version uint64, sum *Summary) error {
	from := healthFromDay(asOf, j.Zone)
	tl := j.timeline()
	defer tl.done("step health: phases")
	due, err := j.Sink.HealthDue(ctx, asOf)
	if err != nil {
		return err
	}
	tl.mark("due_read")
	set := map[int64]bool{}
	for id, r := range pending {
		if r.Last >= from {
			set[id] = true
		}
	}
	for _, id := range due {
		set[id] = true
	}
	if len(set) == 0 {
		return nil
	}
	ids := make([]int64, 0, len(set))
	for id := range set {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	storedList, err := j.Sink.StoredHealth(ctx, ids)
	if err != nil {
		return err
	}
	tl.mark("stored_read")
	stored := map[int64][]load.SeriesKey{}
	for _, k := range storedList {
		stored[k.ScriptID] = append(stored[k.ScriptID], k)
	}
	steps, err := j.healthSteps(ctx, ids, from, asOf, version, sum, tl)
	if err != nil {
		return err
	}
	byScript := map[int64][]load.StepSummary{}
	for _, st := range steps {
		byScript[st.Step.ScriptID] = append(byScript[st.Step.ScriptID], st)
	}
	var (
		rows   []load.HealthRow
		gone   []load.SeriesKey
		checks []load.HealthCheck
	)
	flush := func(force bool) error {
		if !force && len(rows)+len(gone) < detectBatch {
			return nil
		}
		if err := j.Sink.WriteHealth(ctx, rows, gone, checks, version); err != nil {
			return err
		}
		rows, gone, checks = rows[:0], gone[:0], checks[:0]
		return j.failpoint(ctx, fpMidDetect)
	}
	for _, id := range ids {
		r, check := healthRows(id, byScript[id], asOf)
		have := map[int32]bool{}
		for _, h := range r {
			have[h.Step.StepIndex] = true
		}
		for _, k := range stored[id] {
			if !have[k.StepIndex] {
				gone = append(gone, k)
			}
		}
		rows = append(rows, r...)
		checks = append(checks, check)
		sum.Detect.StepsClassified += int64(len(r))
		if err := flush(false); err != nil {
			return err
		}
	}
	err = flush(true)
	tl.mark("classify_write")
	return err
}

// healthRows classifies the steps of a script from their summaries
// (those with executions in the window get a row), and finds the first
// time after asOf at which one of their states can change without new
// data: an execution enters the window (NextAt), the oldest leaves it 14
// days after it, or the first failure leaves the last 24 h a day after it.
func healthRows(id int64, steps []load.StepSummary, asOf time.Time) ([]load.HealthRow, load.HealthCheck) {
	check := load.HealthCheck{ScriptID: id, None: true}
	next := func(t time.Time) {
		if check.None || t.Before(check.Next) {
			check.Next, check.None = t, false
		}
	}
	rows := make([]load.HealthRow, 0, len(steps))
	for i := range steps {
		st := &steps[i]
		if st.NextAt.Valid {
			next(st.NextAt.Time)
		}
		if st.Summary.Executions == 0 {
			continue
		}
		h := transform.ClassifySummary(st.Summary, asOf)
		rows = append(rows, load.HealthRow{Step: load.SeriesKey{ScriptID: id, StepIndex: st.Step.StepIndex},
			StepName: st.StepName, Health: h, LastFailureAt: st.LastFailureAt, LastError: st.LastError})
		next(st.OldestAt.Add(transform.HealthWindow + time.Microsecond))
		if st.Summary.FirstFailure >= 0 {
			if t := st.Summary.FirstFailureAt.Add(transform.NewlyFailingWindow + time.Microsecond); t.After(asOf) {
				next(t)
			}
		}
	}
	slices.SortFunc(rows, func(a, b load.HealthRow) int { return cmp.Compare(a.Step.StepIndex, b.Step.StepIndex) })
	return rows, check
}

// timeline times the phases of a stage for one debug line (nothing when
// the log is not at debug level): mark ends a phase and names it.
type timeline struct {
	now  func() time.Time
	last time.Time
	ev   *zerolog.Event
}

func (j *Job) timeline() *timeline {
	t := &timeline{now: j.Now, ev: j.Log.Debug()}
	if t.ev != nil {
		t.last = t.now()
	}
	return t
}

func (t *timeline) mark(phase string) {
	if t.ev == nil {
		return
	}
	n := t.now()
	t.ev.Dur(phase, n.Sub(t.last))
	t.last = n
}

func (t *timeline) done(msg string) {
	if t.ev != nil {
		t.ev.Msg(msg)
	}
}
