package schedules

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/jackc/pglogrepl"

	"github.com/scriptstats/scriptstats/extract"
	"github.com/scriptstats/scriptstats/load"
	"github.com/scriptstats/scriptstats/transform"
)

// A whole pass without services: a fake source (runs in memory, snapshots
// are copies, a logical clock stamps changes) and a fake sink (private
// tables with ReplacingMergeTree semantics as FINAL reads them). Used by
// pass_test.go for the pass order and every crash window.

var errNotFaked = errors.New("not faked")

type fakeSource struct {
	clock   time.Time
	runs    map[int64]transform.SourceRun
	scripts map[int64]string
}

func newFakeSource() *fakeSource {
	return &fakeSource{clock: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC),
		runs: map[int64]transform.SourceRun{}, scripts: map[int64]string{}}
}

// tick advances the clock; changes are stamped with it (the database clock).
func (s *fakeSource) tick() time.Time { s.clock = s.clock.Add(time.Second); return s.clock }

// put writes a run as a writer would (updated_at stamped now).
func (s *fakeSource) put(id, script int64, status string, started time.Time, dur float64) {
	s.scripts[script] = fmt.Sprintf("script %d", script)
	r := transform.SourceRun{ID: id, ScriptID: script, Status: status,
		StartedAt:  transform.NullTime{Time: started, Valid: true},
		FinishedAt: transform.NullTime{Time: started.Add(time.Duration(dur * float64(time.Second))), Valid: true},
		CreatedAt:  started, UpdatedAt: s.tick(),
		Duration: transform.NullFloat{Float64: dur, Valid: true},
		Steps:    []byte(fmt.Sprintf(`[{"index":0,"name":"open","status":%q,"duration":%g}]`, map[bool]string{true: "success", false: "failed"}[status == "success"], dur/2)),
	}
	s.runs[id] = r
}

func (s *fakeSource) TryLock(context.Context, int64) (Lock, error) { return fakeLock{}, nil }

type fakeLock struct{}

func (fakeLock) Release(context.Context) error { return nil }

func (s *fakeSource) Begin(context.Context) (Snapshot, error) {
	now := s.tick()
	snap := &fakeSnapshot{info: extract.SnapshotInfo{Time: now, Xmin: 1, Xmax: 1,
		Activity: extract.Activity{ReadAt: now}}, scripts: map[int64]string{}}
	for _, r := range s.runs {
		snap.runs = append(snap.runs, r)
	}
	sort.Slice(snap.runs, func(i, j int) bool { return snap.runs[i].ID < snap.runs[j].ID })
	for k, v := range s.scripts {
		snap.scripts[k] = v
	}
	return snap, nil
}

func (s *fakeSource) BeginAt(context.Context, string) (Snapshot, error) { return nil, errNotFaked }
func (s *fakeSource) SlotStatus(context.Context, extract.Slot) (extract.SlotStatus, error) {
	return extract.SlotStatus{}, errNotFaked
}
func (s *fakeSource) PeekChanges(context.Context, extract.Slot, pglogrepl.LSN) (extract.Changes, error) {
	return extract.Changes{}, errNotFaked
}
func (s *fakeSource) AdvanceSlot(context.Context, extract.Slot, pglogrepl.LSN) error {
	return errNotFaked
}
func (s *fakeSource) LocalTimes(context.Context, string, []time.Time) ([]string, error) {
	return nil, errNotFaked
}

type fakeSnapshot struct {
	info    extract.SnapshotInfo
	runs    []transform.SourceRun
	scripts map[int64]string
}

func (s *fakeSnapshot) Info() extract.SnapshotInfo                        { return s.info }
func (s *fakeSnapshot) Close(context.Context) error                       { return nil }
func (s *fakeSnapshot) CheckSchema(context.Context) error                 { return nil }
func (s *fakeSnapshot) Scripts(context.Context) (map[int64]string, error) { return s.scripts, nil }
func (s *fakeSnapshot) CountRunsBetween(context.Context, time.Time, time.Time) int64 {
	return 0
}
func (s *fakeSnapshot) EstimateRuns(context.Context) int64 { return int64(len(s.runs)) }

func (s *fakeSnapshot) each(fn extract.RunFunc, keep func(r *transform.SourceRun) bool) error {
	for i := range s.runs {
		r := s.runs[i]
		if keep(&r) {
			if err := fn(&r); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *fakeSnapshot) ChangedRuns(_ context.Context, since time.Time, _ int, fn extract.RunFunc) error {
	return s.each(fn, func(r *transform.SourceRun) bool { return !r.UpdatedAt.Before(since) })
}
func (s *fakeSnapshot) RunsWrittenBy(context.Context, []int64, time.Time, int, extract.RunFunc) error {
	return nil
}
func (s *fakeSnapshot) AllRuns(_ context.Context, _ int, fn extract.RunFunc) error {
	return s.each(fn, func(*transform.SourceRun) bool { return true })
}
func (s *fakeSnapshot) RunsBetween(_ context.Context, from, to time.Time, _ int, fn extract.RunFunc) error {
	return s.each(fn, func(r *transform.SourceRun) bool {
		t := r.CreatedAt
		if r.StartedAt.Valid {
			t = r.StartedAt.Time
		}
		return !t.Before(from) && t.Before(to)
	})
}
func (s *fakeSnapshot) RunsOfDays(ctx context.Context, from, to time.Time, n int, fn extract.RunFunc) error {
	return s.RunsBetween(ctx, from, to, n, fn)
}
func (s *fakeSnapshot) RunsByID(_ context.Context, ids []int64, _ int, fn extract.RunFunc) error {
	return s.each(fn, func(r *transform.SourceRun) bool { return slices.Contains(ids, r.ID) })
}

// fakeSink keeps the private tables as FINAL reads them.
type fakeSink struct {
	// mu: detection's change points and step health call the sink from
	// two goroutines at once (detect.go); its methods lock it, never
	// while they call back.
	mu    sync.Mutex
	calls []string // the writes, in order
	// callsMu guards calls and maxV: the relink writes beside the
	// recompute and detection.
	callsMu sync.Mutex
	state   *load.State
	stateV  uint64
	maxV    uint64
	runs    map[placeKey]fakeRunRow
	places  rmt
	journal map[transform.GroupKey][]uint64
	groups  map[transform.GroupKey]fakeGroupRow
	scripts map[int64]string
	changes map[load.ChangeKey]fakeChangeRow
	// What detection read: each ChangeRuns call, and the runs it returned.
	changeReads    []fakeChangeRead
	changeRunsRead int
	// storedChangesIDs: the most scripts one StoredChanges call asked for.
	storedChangesIDs int
	// readEarlier: ChangeRuns returns the runs of that many days before the
	// day asked for as well (a read from an earlier day than planned).
	readEarlier transform.Day
	healthDays  map[transform.GroupKey]fakeHealthDay
	health      map[load.SeriesKey]fakeHealthRow
	checks      map[int64]fakeCheck
	// How many groups step health read run by run, and summaries it wrote.
	healthRunsRead, healthDaysWritten int
	// loseHealthDays, when set and true, drops a WriteHealthDays: the
	// summaries of older versions stay, to check that they are never taken
	// as current.
	loseHealthDays func() bool
}

type fakeChangeRead struct {
	ids  []int64
	from transform.Day
}

type fakeRunRow struct {
	version uint64
	deleted bool
	run     transform.Run
}

type fakeGroupRow struct {
	version uint64
	group   load.Group
}

func newFakeSink() *fakeSink {
	s := &fakeSink{}
	_ = s.Reset(context.Background())
	return s
}

func (s *fakeSink) wrote(what string, v uint64) {
	s.callsMu.Lock()
	defer s.callsMu.Unlock()
	s.calls = append(s.calls, what)
	s.maxV = max(s.maxV, v)
}

func (s *fakeSink) Database() string                  { return "fake" }
func (s *fakeSink) CheckSchema(context.Context) error { return nil }
func (s *fakeSink) ReadState(context.Context) (load.State, bool, error) {
	if s.state == nil {
		return load.State{}, false, nil
	}
	return *s.state, true, nil
}
func (s *fakeSink) WriteState(_ context.Context, st load.State, v uint64) error {
	s.wrote("state", v)
	if v >= s.stateV {
		s.state, s.stateV = &st, v
	}
	return nil
}
func (s *fakeSink) MaxVersion(context.Context) (uint64, error) { return s.maxV, nil }
func (s *fakeSink) Reset(context.Context) error {
	s.calls = append(s.calls, "reset")
	s.state, s.stateV = nil, 0
	s.runs, s.places = map[placeKey]fakeRunRow{}, rmt{}
	s.healthDays = map[transform.GroupKey]fakeHealthDay{}
	s.journal, s.groups = map[transform.GroupKey][]uint64{}, map[transform.GroupKey]fakeGroupRow{}
	s.scripts = map[int64]string{}
	s.health, s.checks = map[load.SeriesKey]fakeHealthRow{}, map[int64]fakeCheck{}
	s.changes = map[load.ChangeKey]fakeChangeRow{}
	return nil
}
func (s *fakeSink) SyncScripts(_ context.Context, names map[int64]string, v uint64) (int, error) {
	s.wrote("scripts", v)
	n := 0
	for k, name := range names {
		if s.scripts[k] != name {
			s.scripts[k] = name
			n++
		}
	}
	return n, nil
}
func (s *fakeSink) Places(_ context.Context, ids []int64) (map[int64][]transform.GroupKey, error) {
	out := map[int64][]transform.GroupKey{}
	for _, id := range ids {
		if l := s.places.live(id); len(l) > 0 {
			out[id] = l
		}
	}
	return out, nil
}
func (s *fakeSink) JournalGroups(_ context.Context, keys []transform.GroupKey, v uint64) error {
	s.wrote("journal", v)
	for _, k := range keys {
		s.journal[k] = append(s.journal[k], v)
	}
	return nil
}
func (s *fakeSink) AddPlaces(_ context.Context, runs []transform.Run, v uint64) error {
	s.wrote("add places", v)
	for _, r := range runs {
		s.places.put(placeKey{r.ID, r.Key()}, v, false)
	}
	return nil
}
func (s *fakeSink) InsertRuns(_ context.Context, runs []transform.Run, gone []load.Location, v uint64) error {
	s.wrote("runs", v)
	put := func(k placeKey, row fakeRunRow) {
		if old, ok := s.runs[k]; ok && old.version > row.version {
			return
		}
		s.runs[k] = row
	}
	for _, r := range runs {
		put(placeKey{r.ID, r.Key()}, fakeRunRow{version: v, run: r})
	}
	for _, g := range gone {
		put(placeKey{g.RunID, g.Key}, fakeRunRow{version: v, deleted: true})
	}
	return nil
}
func (s *fakeSink) RemovePlaces(_ context.Context, gone []load.Location, v uint64) error {
	s.wrote("remove places", v)
	for _, g := range gone {
		s.places.put(placeKey{g.RunID, g.Key}, v, true)
	}
	return nil
}
func (s *fakeSink) JournalGroupsOfDays(_ context.Context, from, to transform.Day, v uint64) error {
	s.wrote("journal days", v)
	for k, r := range s.runs {
		if !r.deleted && k.key.Day >= from && k.key.Day <= to {
			s.journal[k.key] = append(s.journal[k.key], v)
		}
	}
	return nil
}
func (s *fakeSink) PendingGroups(_ context.Context, after uint64, fn load.GroupFunc) (int, error) {
	var keys []transform.GroupKey
	for k, vs := range s.journal {
		if slices.ContainsFunc(vs, func(v uint64) bool { return v > after }) {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].ScriptID != keys[j].ScriptID {
			return keys[i].ScriptID < keys[j].ScriptID
		}
		return keys[i].Day < keys[j].Day
	})
	for _, k := range keys {
		var runs []transform.Run
		for pk, r := range s.runs {
			if pk.key == k && !r.deleted {
				runs = append(runs, r.run)
			}
		}
		sort.Slice(runs, func(i, j int) bool { return runs[i].ID < runs[j].ID })
		if err := fn(k, runs); err != nil {
			return 0, err
		}
	}
	return len(keys), nil
}
func (s *fakeSink) WriteGroups(_ context.Context, groups []load.Group, v uint64) error {
	if len(groups) == 0 {
		return nil
	}
	s.wrote("groups", v)
	for _, g := range groups {
		if old, ok := s.groups[g.Key]; ok && old.version > v {
			continue
		}
		s.groups[g.Key] = fakeGroupRow{version: v, group: g}
	}
	return nil
}
func (s *fakeSink) StaleRuns(_ context.Context, from, to transform.Day, v uint64) ([]load.Location, error) {
	var out []load.Location
	for k, r := range s.runs {
		if !r.deleted && r.version < v && k.key.Day >= from && k.key.Day <= to {
			out = append(out, load.Location{RunID: k.run, Key: k.key})
		}
	}
	return out, nil
}
func (s *fakeSink) StoredRunIDs(context.Context) ([]int64, error) { return nil, errNotFaked }
func (s *fakeSink) Relink(context.Context, uint64, uint64, func() error) (int, error) {
	s.callsMu.Lock()
	s.calls = append(s.calls, "links")
	s.callsMu.Unlock()
	return 0, nil
}
func (s *fakeSink) DropRunsBefore(context.Context, transform.Day) (int, error) {
	return 0, errNotFaked
}
func (s *fakeSink) ScriptDaily(context.Context, transform.Day, transform.Day) (*load.Cursor[transform.ScriptDay], error) {
	return nil, errNotFaked
}
func (s *fakeSink) StepDaily(context.Context, transform.Day, transform.Day) (*load.Cursor[transform.StepDay], error) {
	return nil, errNotFaked
}
func (s *fakeSink) Runs(context.Context, transform.Day, transform.Day) (*load.Cursor[load.ViewRun], error) {
	return nil, errNotFaked
}

// Detection: the change points are kept like the other tables (highest
// version wins, FINAL semantics) and read back as the real sink reads
// them.
type fakeChangeRow struct {
	version uint64
	deleted bool
	row     load.ChangeRow
}

func (s *fakeSink) PendingScripts(_ context.Context, after uint64) (map[int64]load.DayRange, error) {
	out := map[int64]load.DayRange{}
	for k, vs := range s.journal {
		if !slices.ContainsFunc(vs, func(v uint64) bool { return v > after }) {
			continue
		}
		r, ok := out[k.ScriptID]
		if !ok {
			r = load.DayRange{First: k.Day, Last: k.Day}
		}
		r.First, r.Last = min(r.First, k.Day), max(r.Last, k.Day)
		out[k.ScriptID] = r
	}
	return out, nil
}
func (s *fakeSink) WriteDetectionAsOf(context.Context, time.Time, uint64) error { return nil }

// DetectionScripts is what detect_all_scripts.sql reads.
func (s *fakeSink) DetectionScripts(context.Context) ([]int64, error) {
	set := map[int64]bool{}
	for k, g := range s.groups {
		if g.group.HasDay {
			set[k.ScriptID] = true
		}
	}
	for k, c := range s.changes {
		if !c.deleted {
			set[k.Series.ScriptID] = true
		}
	}
	return slices.Sorted(maps.Keys(set)), nil
}

// SeriesCounts is what detect_series_counts.sql reads of groups_state.
func (s *fakeSink) SeriesCounts(_ context.Context, ids []int64) (map[int64][]load.DayCounts, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[int64][]load.DayCounts{}
	for k, g := range s.groups {
		if !slices.Contains(ids, k.ScriptID) || !g.group.HasDay {
			continue
		}
		c := load.DayCounts{Day: k.Day, Runs: g.group.Day.Success, Version: g.version}
		for _, st := range g.group.Steps {
			c.StepIndex = append(c.StepIndex, st.StepIndex)
			c.StepSuccess = append(c.StepSuccess, st.Attempts-st.Failures)
		}
		out[k.ScriptID] = append(out[k.ScriptID], c)
	}
	for _, cs := range out {
		slices.SortFunc(cs, func(a, b load.DayCounts) int { return int(a.Day - b.Day) })
	}
	return out, nil
}

// ChangeRuns is what detect_change_runs.sql reads of runs_state: the
// counted live runs of the scripts from a stored day on, in series order,
// with only the columns it selects.
func (s *fakeSink) ChangeRuns(_ context.Context, ids []int64, from transform.Day, fn load.RunFunc) error {
	s.mu.Lock()
	s.changeReads = append(s.changeReads, fakeChangeRead{ids: slices.Clone(ids), from: from})
	if from > transform.MinDay {
		from -= s.readEarlier // more runs than asked: the job must not take them twice
	}
	by := map[int64][]transform.Run{}
	for k, row := range s.runs {
		r := row.run
		if row.deleted || !slices.Contains(ids, k.key.ScriptID) || k.key.Day < from || r.Class == transform.StatusUnfinished {
			continue
		}
		narrow := transform.Run{ID: r.ID, ScriptID: k.key.ScriptID, Day: k.key.Day, Class: r.Class,
			OrderedAt: time.UnixMicro(r.OrderedAt.UnixMicro()).UTC(), Duration: r.Duration}
		for _, st := range r.Steps {
			narrow.Steps = append(narrow.Steps, transform.Step{Index: st.Index, Name: st.Name, Status: st.Status, Duration: st.Duration})
		}
		by[k.key.ScriptID] = append(by[k.key.ScriptID], narrow)
	}
	for _, runs := range by {
		s.changeRunsRead += len(runs)
	}
	s.mu.Unlock()
	scripts := slices.Sorted(maps.Keys(by))
	for _, id := range scripts {
		runs := by[id]
		slices.SortFunc(runs, func(a, b transform.Run) int {
			if c := a.OrderedAt.Compare(b.OrderedAt); c != 0 {
				return c
			}
			return int(a.ID - b.ID)
		})
		// One run and one steps slice for every call, scribbled over after
		// each, as the real sink reuses them: whatever fn keeps of them
		// shows as wrong values.
		var r transform.Run
		var steps []transform.Step
		for i := range runs {
			steps = append(steps[:0], runs[i].Steps...)
			r = runs[i]
			r.Steps = steps
			if err := fn(id, &r); err != nil {
				return err
			}
			for k := range steps {
				steps[k] = transform.Step{Index: -7, Name: transform.NullString{String: "scribbled", Valid: true}, Status: transform.StepSuccess,
					Duration: transform.NullFloat{Float64: 1e9, Valid: true}}
			}
			r = transform.Run{ID: -1}
		}
	}
	return nil
}
func (s *fakeSink) StoredChanges(_ context.Context, ids []int64) ([]load.StoredChange, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.storedChangesIDs = max(s.storedChangesIDs, len(ids))
	var out []load.StoredChange
	for k, c := range s.changes {
		if !c.deleted && slices.Contains(ids, k.Series.ScriptID) {
			out = append(out, load.StoredChange{Key: k, RunsBefore: c.row.Change.RunsBefore, RunsAfter: c.row.Change.RunsAfter,
				QuietFrom: c.row.QuietFrom, Tail: c.row.Tail})
		}
	}
	return out, nil
}
func (s *fakeSink) WriteChanges(_ context.Context, rows []load.ChangeRow, gone []load.ChangeKey, v uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.maxV = max(s.maxV, v)
	put := func(k load.ChangeKey, c fakeChangeRow) {
		if old, ok := s.changes[k]; ok && old.version > c.version {
			return
		}
		s.changes[k] = c
	}
	for _, r := range rows {
		r.Change.Index = 0 // a position in what was read: not stored
		put(r.Key, fakeChangeRow{version: v, row: r})
	}
	for _, k := range gone {
		put(k, fakeChangeRow{version: v, deleted: true})
	}
	return nil
}

// Step health: the day summaries, the rows and the checks are kept like
// the other tables (highest version wins, FINAL semantics) and read back
// as the real sink reads them.
type fakeHealthDay struct {
	version uint64
	row     load.HealthDayRow
}

type fakeHealthRow struct {
	version uint64
	deleted bool
	row     load.HealthRow
}

type fakeCheck struct {
	version uint64
	check   load.HealthCheck
}

// HealthDays is what detect_health_days.sql reads: the live groups from a
// day on, each with its summary when that was computed against the
// group's version.
func (s *fakeSink) HealthDays(_ context.Context, ids []int64, from transform.Day) ([]load.HealthDay, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []load.HealthDay
	for k, g := range s.groups {
		if !g.group.HasDay || k.Day < from || !slices.Contains(ids, k.ScriptID) {
			continue
		}
		d := load.HealthDay{Key: k, GroupVersion: g.version}
		if h, ok := s.healthDays[k]; ok && h.row.GroupVersion == g.version {
			sum := h.row.Summary
			sum.Steps = slices.Clone(sum.Steps)
			for i := range sum.Steps {
				// As stored: a day's statuses come back from the counts.
				seg := &sum.Steps[i].Segment
				seg.Days = []transform.DayStatuses{{Day: k.Day, Success: seg.Failures < seg.Executions, Failure: seg.Failures > 0}}
			}
			d.Summary = &sum
		}
		out = append(out, d)
	}
	slices.SortFunc(out, func(a, b load.HealthDay) int {
		if a.Key.ScriptID != b.Key.ScriptID {
			return int(a.Key.ScriptID - b.Key.ScriptID)
		}
		return int(a.Key.Day - b.Key.Day)
	})
	return out, nil
}

// HealthDayRuns is what detect_health_day_runs.sql reads: the counted live
// runs with steps of the groups, group by group, in run id order.
func (s *fakeSink) HealthDayRuns(_ context.Context, days []transform.GroupKey, fn load.HealthDayFunc) error {
	s.mu.Lock()
	by := map[transform.GroupKey][]load.HealthRun{}
	for k, row := range s.runs {
		r := row.run
		if row.deleted || !slices.Contains(days, k.key) || r.Class == transform.StatusUnfinished || len(r.Steps) == 0 {
			continue
		}
		hr := load.HealthRun{Key: load.RunKey{OrderedAtUS: r.OrderedAt.UnixMicro(), RunID: r.ID}, FailureAtUS: r.FinishedOrLatest().UnixMicro()}
		for _, st := range r.Steps {
			if st.Status != transform.StepSuccess && st.Status != transform.StepFailed {
				continue
			}
			a := load.HealthAttempt{Index: st.Index, Failed: st.Status == transform.StepFailed, Name: st.Name}
			if a.Failed {
				a.Error = st.Error
			}
			hr.Attempts = append(hr.Attempts, a)
		}
		by[k.key] = append(by[k.key], hr)
	}
	s.healthRunsRead += len(by)
	s.mu.Unlock()
	keys := slices.Collect(maps.Keys(by))
	slices.SortFunc(keys, func(a, b transform.GroupKey) int {
		if a.ScriptID != b.ScriptID {
			return int(a.ScriptID - b.ScriptID)
		}
		return int(a.Day - b.Day)
	})
	for _, k := range keys {
		runs := by[k]
		slices.SortFunc(runs, func(a, b load.HealthRun) int { return int(a.Key.RunID - b.Key.RunID) })
		if err := fn(k, runs); err != nil {
			return err
		}
	}
	return nil
}

func (s *fakeSink) WriteHealthDays(_ context.Context, rows []load.HealthDayRow, v uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.loseHealthDays != nil && s.loseHealthDays() {
		return nil // as if the rows never landed: the older summaries stay
	}
	for _, r := range rows {
		if old, ok := s.healthDays[r.Key]; ok && old.version > v {
			continue
		}
		r.Summary.Steps = slices.Clone(r.Summary.Steps)
		s.healthDays[r.Key] = fakeHealthDay{version: v, row: r}
	}
	s.healthDaysWritten += len(rows)
	return nil
}

func (s *fakeSink) HealthDue(_ context.Context, asOf time.Time) ([]int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []int64
	for id, c := range s.checks {
		if !c.check.None && !c.check.Next.After(asOf) {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out, nil
}
func (s *fakeSink) StoredHealth(_ context.Context, ids []int64) ([]load.SeriesKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []load.SeriesKey
	for k, h := range s.health {
		if !h.deleted && slices.Contains(ids, k.ScriptID) {
			out = append(out, k)
		}
	}
	return out, nil
}
func (s *fakeSink) WriteHealth(_ context.Context, rows []load.HealthRow, gone []load.SeriesKey, checks []load.HealthCheck, v uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	put := func(k load.SeriesKey, h fakeHealthRow) {
		if old, ok := s.health[k]; ok && old.version > h.version {
			return
		}
		s.health[k] = h
	}
	for _, r := range rows {
		put(r.Step, fakeHealthRow{version: v, row: r})
	}
	for _, k := range gone {
		put(k, fakeHealthRow{version: v, deleted: true})
	}
	for _, c := range checks {
		if old, ok := s.checks[c.ScriptID]; ok && old.version > v {
			continue
		}
		s.checks[c.ScriptID] = fakeCheck{version: v, check: c}
	}
	return nil
}
