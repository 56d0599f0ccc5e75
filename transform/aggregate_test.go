package transform

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// counted builds a normalized run of script 1 on 2026-05-01 (UTC).
func counted(t *testing.T, id int64, status string, duration NullFloat) Run {
	t.Helper()
	return mustNormalize(t, SourceRun{ID: id, ScriptID: 1, Status: status, Duration: duration,
		StartedAt: NullTime{Time: created.Add(time.Duration(id) * time.Second), Valid: true}, CreatedAt: created})
}

func TestAggregateCounts(t *testing.T) {
	runs := []Run{
		counted(t, 1, "success", nullFloat(10)),
		counted(t, 2, "success", nullFloat(20)),
		counted(t, 3, "failed", nullFloat(math.NaN())),
		counted(t, 4, "timeout", NullFloat{}),
		counted(t, 5, "cancelled", nullFloat(5)),
		counted(t, 6, "weird", nullFloat(30)),
		counted(t, 7, "running", nullFloat(100)), // not counted
		counted(t, 8, "pending", NullFloat{}),    // not counted
	}
	day, hasDay, steps := Aggregate(runs)
	// Valid durations 5, 10, 20, 30: avg 16.25; p50 is rank ceil(2) = 2,
	// p90/p95/p99 rank ceil(3.6 / 3.8 / 3.96) = 4. Success: 10, 20: avg
	// 15, p50 rank 1, p95 rank ceil(1.9) = 2.
	want := ScriptDay{
		ScriptID: 1, Day: DayFromDate(2026, time.May, 1),
		Total: 6, Success: 2, Failed: 1, Timeout: 1, Cancelled: 1, Other: 1,
		SuccessRate:   2.0 / 6.0,
		DurationCount: 4, InvalidDuration: 2,
		DurationAvg: nullFloat(16.25), DurationMin: nullFloat(5), DurationMax: nullFloat(30),
		DurationP50: nullFloat(10), DurationP90: nullFloat(30), DurationP95: nullFloat(30), DurationP99: nullFloat(30),
		SuccessDurationAvg: nullFloat(15), SuccessDurationP50: nullFloat(10), SuccessDurationP95: nullFloat(20),
	}
	if !hasDay || day != want {
		t.Errorf("day =\n%+v\nwant\n%+v", day, want)
	}
	if steps != nil {
		t.Errorf("steps = %+v", steps)
	}
}

func TestAggregateNothingCounted(t *testing.T) {
	day, hasDay, steps := Aggregate([]Run{counted(t, 1, "running", nullFloat(1)), counted(t, 2, "queued", nullFloat(1))})
	if hasDay || day != (ScriptDay{}) || steps != nil {
		t.Errorf("got %v %+v %+v", hasDay, day, steps)
	}
	if _, hasDay, _ := Aggregate(nil); hasDay {
		t.Error("empty group has a day")
	}
}

func TestAggregateNoValidDuration(t *testing.T) {
	day, hasDay, _ := Aggregate([]Run{counted(t, 1, "failed", NullFloat{}), counted(t, 2, "success", nullFloat(-1))})
	want := ScriptDay{ScriptID: 1, Day: DayFromDate(2026, time.May, 1), Total: 2, Success: 1, Failed: 1,
		SuccessRate: 0.5, InvalidDuration: 2}
	if !hasDay || day != want {
		t.Errorf("day = %+v", day)
	}
}

func TestAggregatePercentiles(t *testing.T) {
	// Values 10, 20, …, 10n; rank k = ceil(p·n/100), value 10k.
	tests := []struct {
		n                  int
		p50, p90, p95, p99 float64
		avg                float64
	}{
		{1, 10, 10, 10, 10, 10},
		{2, 10, 20, 20, 20, 15},        // ranks 1, ceil(1.8), ceil(1.9), ceil(1.98)
		{3, 20, 30, 30, 30, 20},        // ranks ceil(1.5), ceil(2.7), ceil(2.85), ceil(2.97)
		{10, 50, 90, 100, 100, 55},     // ranks 5, 9, ceil(9.5), ceil(9.9)
		{20, 100, 180, 190, 200, 105},  // ranks 10, 18, 19, ceil(19.8)
		{100, 500, 900, 950, 990, 505}, // ranks 50, 90, 95, 99
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range tests {
		runs := make([]Run, tc.n)
		for i := range runs {
			runs[i] = counted(t, int64(i+1), "success", nullFloat(float64(10*(i+1))))
		}
		rng.Shuffle(len(runs), func(i, j int) { runs[i], runs[j] = runs[j], runs[i] })
		day, _, _ := Aggregate(runs)
		got := []NullFloat{day.DurationP50, day.DurationP90, day.DurationP95, day.DurationP99, day.DurationAvg,
			day.DurationMin, day.DurationMax, day.SuccessDurationP50, day.SuccessDurationP95, day.SuccessDurationAvg}
		want := []float64{tc.p50, tc.p90, tc.p95, tc.p99, tc.avg, 10, float64(10 * tc.n), tc.p50, tc.p95, tc.avg}
		for i := range got {
			if got[i] != nullFloat(want[i]) {
				t.Errorf("n=%d: stat %d = %+v, want %v", tc.n, i, got[i], want[i])
			}
		}
		if day.DurationCount != uint64(tc.n) {
			t.Errorf("n=%d: count %d", tc.n, day.DurationCount)
		}
	}

	// Ties: 1, 5, 5, 5: p50 is rank 2, i.e. 5; nothing lies between.
	day, _, _ := Aggregate([]Run{counted(t, 1, "failed", nullFloat(5)), counted(t, 2, "failed", nullFloat(1)),
		counted(t, 3, "failed", nullFloat(5)), counted(t, 4, "failed", nullFloat(5))})
	if day.DurationP50 != nullFloat(5) || day.DurationMin != nullFloat(1) || day.DurationAvg != nullFloat(4) ||
		day.SuccessDurationAvg.Valid || day.SuccessDurationP50.Valid || day.SuccessDurationP95.Valid {
		t.Errorf("ties: %+v", day)
	}
}

func TestAggregateAverage(t *testing.T) {
	// The sum overflows float64; the mean does not: (1.5e308 + 1.7e308)/2.
	day, _, _ := Aggregate([]Run{counted(t, 1, "success", nullFloat(1.5e308)), counted(t, 2, "success", nullFloat(1.7e308))})
	if got := day.DurationAvg.Float64; !day.DurationAvg.Valid || math.Abs(got-1.6e308)/1.6e308 > 1e-15 {
		t.Errorf("overflowing avg = %v, want 1.6e308", got)
	}
	// Equal values average to themselves.
	day, _, _ = Aggregate([]Run{counted(t, 1, "success", nullFloat(0.1)), counted(t, 2, "success", nullFloat(0.1)), counted(t, 3, "success", nullFloat(0.1))})
	if day.DurationAvg != nullFloat(0.1) {
		t.Errorf("avg of 0.1 = %v", day.DurationAvg)
	}
	// 1e16 + 1 + 1 + … loses every 1 when summed naively: 1e16 and
	// twenty 1s average to (1e16 + 20) / 21.
	runs := []Run{counted(t, 100, "success", nullFloat(1e16))}
	for i := range 20 {
		runs = append(runs, counted(t, int64(i+1), "success", nullFloat(1)))
	}
	day, _, _ = Aggregate(runs)
	if want := (1e16 + 20) / 21; day.DurationAvg != nullFloat(want) {
		t.Errorf("avg = %v, want %v", day.DurationAvg.Float64, want)
	}
	// The order of the runs does not change a bit of the result.
	vals := []float64{0.1, 0.2, 0.3, 1e-9, 123456.789, 7, 1e10, 3.3333}
	var first ScriptDay
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := range 50 {
		runs := make([]Run, len(vals))
		for i, v := range vals {
			runs[i] = counted(t, int64(i+1), "success", nullFloat(v))
		}
		rng.Shuffle(len(runs), func(i, j int) { runs[i], runs[j] = runs[j], runs[i] })
		day, _, _ := Aggregate(runs)
		if trial == 0 {
			first = day
		} else if day != first {
			t.Fatalf("order changed the result: %+v vs %+v", day, first)
		}
	}
}

// stepRun builds a counted run of script 1 on 2026-05-01 with the given
// steps, order time and finish time ("" = NULL).
func stepRun(t *testing.T, id int64, status, started, finished string, steps ...Step) Run {
	t.Helper()
	r := Run{ID: id, ScriptID: 1, Day: DayFromDate(2026, time.May, 1), Status: status, Class: ClassOf(status),
		CreatedAt: ts(t, "2026-05-01T00:00:00Z"), Steps: steps}
	r.OrderedAt = r.CreatedAt
	if started != "" {
		r.StartedAt = nullTime(t, started)
		r.OrderedAt = r.StartedAt.Time
	}
	if finished != "" {
		r.FinishedAt = nullTime(t, finished)
	}
	return r
}

func named(i int32, status, name string) Step {
	s := Step{Index: i, Status: status}
	if name != "" {
		s.Name = nullStr(name)
	}
	return s
}

func failedWith(i int32, err string) Step {
	return Step{Index: i, Status: StepFailed, Error: nullStr(err)}
}

func TestAggregateStepName(t *testing.T) {
	runs := []Run{
		stepRun(t, 10, "success", "2026-05-01T08:00:00Z", "", named(0, StepSuccess, "old name")),
		stepRun(t, 5, "success", "2026-05-01T09:00:00Z", "", named(0, StepSuccess, "newer")),
		// Same start as run 5, greater ID: later.
		stepRun(t, 7, "failed", "2026-05-01T09:00:00Z", "", named(0, StepFailed, "newest")),
		// Later, but no name: does not erase it.
		stepRun(t, 20, "success", "2026-05-01T10:00:00Z", "", named(0, StepSuccess, "")),
		// Later, but not counted (unfinished) or not an attempt (skipped).
		stepRun(t, 30, "running", "2026-05-01T11:00:00Z", "", named(0, StepSuccess, "unfinished")),
		stepRun(t, 40, "success", "2026-05-01T12:00:00Z", "", named(0, StepSkipped, "skipped")),
		// created_at orders a run without started_at: 00:00, earliest.
		stepRun(t, 50, "success", "", "", named(0, StepSuccess, "never started")),
	}
	_, _, steps := Aggregate(runs)
	if len(steps) != 1 || steps[0].StepName != nullStr("newest") || steps[0].Attempts != 5 || steps[0].Failures != 1 {
		t.Fatalf("steps = %+v", steps)
	}
	// Reversed input: same answer.
	for i, j := 0, len(runs)-1; i < j; i, j = i+1, j-1 {
		runs[i], runs[j] = runs[j], runs[i]
	}
	if _, _, steps := Aggregate(runs); steps[0].StepName != nullStr("newest") {
		t.Errorf("reversed: %+v", steps[0].StepName)
	}
	// Duplicate indexes in one run: the last in array order names it.
	_, _, steps = Aggregate([]Run{stepRun(t, 1, "success", "2026-05-01T08:00:00Z", "",
		named(0, StepSuccess, "first"), named(0, StepSuccess, "second"), named(0, StepFailed, ""))})
	if steps[0].StepName != nullStr("second") || steps[0].Attempts != 3 {
		t.Errorf("duplicates: %+v", steps[0])
	}
	// No name at all: NULL.
	_, _, steps = Aggregate([]Run{stepRun(t, 1, "success", "", "", named(3, StepSuccess, ""))})
	if steps[0].StepName.Valid {
		t.Errorf("no name: %+v", steps[0])
	}
}

func TestAggregateSkippedAndRates(t *testing.T) {
	runs := []Run{
		stepRun(t, 1, "failed", "2026-05-01T08:00:00Z", "",
			named(0, StepSuccess, "a"), named(1, StepSkipped, "b"), failedWith(2, "x")),
		stepRun(t, 2, "success", "2026-05-01T09:00:00Z", "",
			named(0, StepSuccess, "a"), named(1, StepSkipped, "b"), named(2, StepSuccess, "c"), named(7, StepSkipped, "")),
		stepRun(t, 3, "success", "2026-05-01T10:00:00Z", "", named(2, StepSuccess, "")),
	}
	_, _, steps := Aggregate(runs)
	want := []StepDay{
		{ScriptID: 1, StepIndex: 0, Day: DayFromDate(2026, time.May, 1), StepName: nullStr("a"), Attempts: 2, FailureRate: 0},
		{ScriptID: 1, StepIndex: 2, Day: DayFromDate(2026, time.May, 1), StepName: nullStr("c"), Attempts: 3, Failures: 1,
			FailureRate: 1.0 / 3.0, LastFailureAt: nullTime(t, "2026-05-01T08:00:00Z"), LastError: nullStr("x")},
	}
	if len(steps) != len(want) {
		t.Fatalf("steps = %+v", steps)
	}
	for i := range want {
		if steps[i] != want[i] {
			t.Errorf("step %d =\n%+v\nwant\n%+v", i, steps[i], want[i])
		}
	}
}

func TestAggregateLastFailure(t *testing.T) {
	runs := []Run{
		// Index 0: runs 3 and 9 fail at the same 12:00; 9 has the greater ID.
		// Run 1 failed earlier; run 4 later but is unfinished.
		stepRun(t, 3, "failed", "2026-05-01T11:00:00Z", "2026-05-01T12:00:00Z", failedWith(0, "e3")),
		stepRun(t, 9, "failed", "2026-05-01T11:30:00Z", "2026-05-01T12:00:00Z", failedWith(0, "e9")),
		stepRun(t, 1, "failed", "2026-05-01T10:00:00Z", "2026-05-01T11:00:00Z", failedWith(0, "e1")),
		stepRun(t, 4, "running", "2026-05-01T13:00:00Z", "2026-05-01T14:00:00Z", failedWith(0, "e4")),
		// Index 1: without finished_at, started_at is the failure time
		// (12:30 beats 12:10); without either, created_at (00:00).
		stepRun(t, 5, "failed", "2026-05-01T12:30:00Z", "", failedWith(1, "started")),
		stepRun(t, 6, "failed", "2026-05-01T08:00:00Z", "2026-05-01T12:10:00Z", failedWith(1, "finished")),
		stepRun(t, 8, "failed", "", "", failedWith(1, "created")),
		// Index 2: one run fails it twice: the last in array order. A
		// success after it does not matter.
		stepRun(t, 11, "failed", "2026-05-01T09:00:00Z", "2026-05-01T09:05:00Z",
			failedWith(2, "first"), failedWith(2, "second"), named(2, StepSuccess, "")),
		// Index 3: a failure with a NULL error keeps it NULL; the greatest
		// time still wins over a run with an error.
		stepRun(t, 12, "failed", "2026-05-01T09:00:00Z", "2026-05-01T09:05:00Z", failedWith(3, "older")),
		stepRun(t, 13, "failed", "2026-05-01T09:00:00Z", "2026-05-01T09:06:00Z", Step{Index: 3, Status: StepFailed}),
		// Index 4: only successes: no failure time, no error.
		stepRun(t, 14, "success", "2026-05-01T09:00:00Z", "2026-05-01T09:06:00Z", Step{Index: 4, Status: StepSuccess, Error: nullStr("ignored")}),
	}
	_, _, steps := Aggregate(runs)
	type want struct {
		at                 string
		err                NullString
		attempts, failures uint64
	}
	wants := []want{
		{"2026-05-01T12:00:00Z", nullStr("e9"), 3, 3},
		{"2026-05-01T12:30:00Z", nullStr("started"), 3, 3},
		{"2026-05-01T09:05:00Z", nullStr("second"), 3, 2},
		{"2026-05-01T09:06:00Z", NullString{}, 2, 2},
		{"", NullString{}, 1, 0},
	}
	if len(steps) != len(wants) {
		t.Fatalf("steps = %+v", steps)
	}
	for i, w := range wants {
		s := steps[i]
		wantAt := NullTime{}
		if w.at != "" {
			wantAt = nullTime(t, w.at)
		}
		if s.StepIndex != int32(i) || s.LastFailureAt != wantAt || s.LastError != w.err ||
			s.Attempts != w.attempts || s.Failures != w.failures {
			t.Errorf("step %d = %+v", i, s)
		}
	}
}

func TestAggregateErrorFallback(t *testing.T) {
	// Through Normalize: a failed step with no error takes error_message.
	run := mustNormalize(t, SourceRun{ID: 1, ScriptID: 1, Status: "failed", CreatedAt: created,
		FinishedAt:   nullTime(t, "2026-05-01T12:30:00Z"),
		ErrorMessage: nullStr("boom"), Steps: []byte(`[{"index":0,"status":"success"},{"index":1,"status":"failed","error":null}]`)})
	_, _, steps := Aggregate([]Run{run})
	if len(steps) != 2 || steps[1].LastError != nullStr("boom") || steps[0].LastError.Valid ||
		steps[1].LastFailureAt != nullTime(t, "2026-05-01T12:30:00Z") {
		t.Errorf("steps = %+v", steps)
	}
}

func TestAggregateSparseIndexes(t *testing.T) {
	// Indexes far apart take the sorting path; the rows come out sorted.
	runs := []Run{
		stepRun(t, 1, "success", "", "", named(1_000_000_000, StepSuccess, "big"), named(-5, StepFailed, "neg"), named(0, StepSuccess, "zero")),
		stepRun(t, 2, "success", "", "", named(math.MaxInt32, StepSuccess, "max"), named(-5, StepSuccess, ""), named(math.MinInt32, StepSkipped, "min")),
	}
	_, _, steps := Aggregate(runs)
	wantIdx := []int32{-5, 0, 1_000_000_000, math.MaxInt32}
	wantAtt := []uint64{2, 1, 1, 1}
	wantName := []string{"neg", "zero", "big", "max"}
	if len(steps) != len(wantIdx) {
		t.Fatalf("steps = %+v", steps)
	}
	for i := range wantIdx {
		if steps[i].StepIndex != wantIdx[i] || steps[i].Attempts != wantAtt[i] || steps[i].StepName != nullStr(wantName[i]) {
			t.Errorf("step %d = %+v", i, steps[i])
		}
	}
	if steps[0].Failures != 1 || steps[0].FailureRate != 0.5 {
		t.Errorf("step -5 = %+v", steps[0])
	}
}

func TestAggregateMixedGroupsPanics(t *testing.T) {
	a := counted(t, 1, "success", nullFloat(1))
	b := a
	b.ScriptID = 2
	defer func() {
		if recover() == nil {
			t.Error("no panic on a mixed group")
		}
	}()
	Aggregate([]Run{a, b})
}

func TestAggregatorReuse(t *testing.T) {
	// Buffers reused across groups must not leak values between them.
	var a Aggregator
	big := []Run{stepRun(t, 1, "success", "", "", named(0, StepFailed, "x"), named(1, StepSuccess, "y"))}
	big[0].Duration = nullFloat(100)
	a.Aggregate(big)
	small := []Run{stepRun(t, 2, "success", "", "", named(1, StepSuccess, "z"))}
	small[0].Duration = nullFloat(1)
	day, _, steps := a.Aggregate(small)
	if day.DurationMax != nullFloat(1) || day.DurationCount != 1 || len(steps) != 1 ||
		steps[0].StepIndex != 1 || steps[0].Attempts != 1 || steps[0].Failures != 0 || steps[0].StepName != nullStr("z") {
		t.Errorf("reuse: %+v %+v", day, steps)
	}
}
