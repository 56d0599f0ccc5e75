package schedules

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/scriptstats/scriptstats/load"
	"github.com/scriptstats/scriptstats/transform"
)

// TestChangeTailsKeepChangePoints: passes of mostly new runs on the
// current day (the path the change tails serve), now and then a new day,
// a planted shift, a late run, a rewrite, a move, a delete found by a
// backfill, the last days of a script rewritten (a shift in its tail), or a
// pass killed at a random crash window (then one more run);
// after every completed pass the stored change points equal DetectChanges
// over every whole series built from the fake source (every column). It
// checks that tails were used and that passes using them read only the
// runs from their cut day. The sink returns the runs of 0, 1 or 2 more
// days than asked (the runs before a tail's cut must not be taken twice).
// The tails' scan tests are checked against the whole series' plain scan
// (checkTails), and the passes must have taken some from the tails and
// left some stored tails as they were (unchangedTail).
func TestChangeTailsKeepChangePoints(t *testing.T) {
	ctx := context.Background()
	opts := localOptions(t)
	// A short persistence check too: many passing scan tests in short
	// series, kept in the tails and taken from them.
	check := transform.DefaultChangeOptions()
	check.Window, check.ConfirmWindow, check.MaxP = 4, 16, 0.05
	opts["short check"] = check
	for name, opt := range opts {
		t.Run(name, func(t *testing.T) {
			var tails, rereads, tailPasses, scanKept, tailsKept int64
			for seed := range uint64(3) {
				g := newDetectStory(300 + seed)
				g.days(1, 0, 30, 12)
				g.days(2, 0, 30, 20)
				for _, script := range []int64{5, 6} {
					g.calm[script] = true
					g.days(script, 0, 30, 30)
				}
				scripts := []int64{1, 2, 5, 6}
				sink := newFakeSink()
				sink.readEarlier = transform.Day(seed) // the runs of more days than asked come back
				job := func(crashAfter int) *Job { return crashingJob(g.src, sink, opt, crashAfter) }
				if _, err := job(0).Run(ctx, RunOptions{}); err != nil {
					t.Fatal(err)
				}
				checkChanges(t, "first load", g.src, sink, opt)
				today := 30
				for pass := range 30 {
					var did []string
					if g.r.IntN(4) == 0 {
						today++
					}
					for range 1 + g.r.IntN(3) {
						script := scripts[g.r.IntN(len(scripts))]
						if g.r.IntN(10) == 0 { // a planted shift from here on
							for i := range g.levels[script] {
								g.levels[script][i] *= 1.6
							}
							did = append(did, fmt.Sprintf("%d shifted", script))
						}
						for range 1 + g.r.IntN(15) {
							g.run(script, today, 1+g.r.IntN(1400))
						}
						did = append(did, fmt.Sprintf("new runs of %d on day %d", script, today))
					}
					backfill := false
					switch g.r.IntN(12) {
					case 0:
						d := g.r.IntN(today + 1)
						g.run(scripts[g.r.IntN(len(scripts))], d, g.r.IntN(1440))
						did = append(did, fmt.Sprintf("a late run on day %d", d))
					case 1:
						id := g.someRun()
						g.rewrite(id, func(r *transform.SourceRun) { r.Duration.Float64 *= 3 })
						did = append(did, fmt.Sprintf("run %d rewritten", id))
					case 2:
						did = append(did, g.moveSomeRun())
					case 3:
						delete(g.src.runs, g.someRun())
						did, backfill = append(did, "a delete"), true
					case 4, 5: // the last days of a script rewritten: a shift in its tail
						script, from := scripts[g.r.IntN(len(scripts))], max(0, today-1-g.r.IntN(4))
						for id, r := range g.src.runs {
							if d := int(r.StartedAt.Time.Sub(g.start) / (24 * time.Hour)); r.ScriptID == script && d >= from && d < today {
								g.rewrite(id, func(r *transform.SourceRun) { r.Duration.Float64 *= 2.5 })
							}
						}
						did = append(did, fmt.Sprintf("script %d's days %d to %d rewritten ×2.5", script, from, today-1))
					}
					passOf := func(j *Job) (Summary, error) {
						if backfill {
							from := transform.DayOf(g.start, time.UTC) - 1
							return j.Backfill(ctx, from, from+transform.Day(today+2))
						}
						return j.Run(ctx, RunOptions{})
					}
					stage := fmt.Sprintf("seed %d pass %d (%v)", seed, pass, did)
					if g.r.IntN(4) == 0 {
						crash := 1 + g.r.IntN(12)
						if _, err := passOf(job(crash)); err != nil && !errors.Is(err, errCrash) {
							t.Fatal(err)
						}
						g.run(scripts[g.r.IntN(len(scripts))], today, 1+g.r.IntN(1400))
						stage += fmt.Sprintf(", killed at crash window %d, one more run", crash)
					}
					reads, minCut := len(sink.changeReads), transform.MaxDay
					for k, c := range sink.changes {
						if k.IsTail() && !c.deleted {
							tl, err := load.DecodeTail(c.row.Tail)
							if err != nil {
								t.Fatalf("%s: stored tail of script %d: %v", stage, k.Series.ScriptID, err)
							}
							minCut = min(minCut, tl.Cut)
						}
					}
					sum, err := passOf(job(0))
					if err != nil {
						t.Fatalf("%s: %v", stage, err)
					}
					checkChanges(t, stage, g.src, sink, opt)
					// A stored tail left as it was still moves its cut to
					// the script's last day when a pass reaches it: else the
					// passes read more and more days (unchangedTail). (A
					// day of slack: the last run may have been deleted.)
					for k, c := range sink.changes {
						if !k.IsTail() || c.deleted {
							continue
						}
						tl, _ := load.DecodeTail(c.row.Tail)
						if last := transform.DayOf(g.start, time.UTC) + transform.Day(g.lastDay[k.Series.ScriptID]); tl.Cut < last-1 {
							t.Fatalf("%s: script %d's tail is cut at %v, its last run is on %v", stage, k.Series.ScriptID, tl.Cut, last)
						}
					}
					tails += sum.Detect.Tails
					scanKept += sum.Detect.ScanTestsKept
					tailsKept += sum.Detect.TailsKept
					rereads += sum.Detect.Rereads
					if sum.Detect.Tails > 0 && sum.Detect.Tails == sum.Detect.Scripts && sum.Detect.Rereads == 0 {
						tailPasses++
						// Every script came from its tail: no read starts
						// before a tail's cut day.
						for _, rd := range sink.changeReads[reads:] {
							if rd.from < minCut {
								t.Fatalf("%s: every script from its tail, yet a read from day %v, before every cut (%v)", stage, rd.from, minCut)
							}
						}
					}
				}
			}
			t.Logf("scripts read from their change tail %d, rereads %d, passes with every script from its tail %d, scan tests taken from tails %d, tails left as stored %d", tails, rereads, tailPasses, scanKept, tailsKept)
			// (The scan alone, ConfirmWindow 0, takes none: it scans in full.)
			if tails == 0 || tailPasses == 0 || (scanKept == 0) != (opt.ConfirmWindow == 0) || tailsKept == 0 {
				t.Fatalf("tails %d, passes served by tails alone %d, scan tests taken from tails %d, tails left as stored %d: the test must take the tails' path", tails, tailPasses, scanKept, tailsKept)
			}
		})
	}
}

// TestChangeTailVersionGuard: a tail is used whole when the first changed
// day is after its days, cut before that day when it is one of them (a
// Plain tail only), and not at all when a group of the days it gives has a
// greater version.
func TestChangeTailVersionGuard(t *testing.T) {
	tail := &load.ChangeTail{Version: 10, MaxDay: 5, Cut: 6, Plain: true,
		Runs: []load.RunKey{{OrderedAtUS: 1, RunID: 1}, {OrderedAtUS: 2, RunID: 2}, {OrderedAtUS: 3, RunID: 3}},
		Days: []transform.Day{3, 4, 5},
		Series: []load.TailSeries{{Step: load.RunSeries, Whole: true, Runs: []int32{0, 1, 2}, Values: []float64{1, 2, 3}},
			{Step: 4, Runs: []int32{2}, Values: []float64{7}}}}
	tail.Series[0].Scan = transform.ScanTests{From: 0, To: 3, Tests: []transform.ScanTest{{Index: 1, Scale: 1, P: 0.5}, {Index: 2, Scale: 1, P: 0.25}}}
	counts := []load.DayCounts{{Day: 3, Version: 8}, {Day: 4, Version: 9}, {Day: 5, Version: 10}, {Day: 6, Version: 12}}
	if got, from := tailUsable(tail, 6, counts); got != tail || from != 6 {
		t.Fatalf("got %+v from %v, want the whole tail from its cut", got, from)
	}
	got, from := tailUsable(tail, 5, counts)
	if got == nil || from != 5 || len(got.Runs) != 2 || got.Last != tail.Runs[1] || len(got.Series) != 2 ||
		fmt.Sprint(got.Series[0].Values) != "[1 2]" || len(got.Series[1].Values) != 0 || got.Series[1].Whole ||
		fmt.Sprintf("%+v", got.Series[0].Scan) != "{From:0 To:2 Tests:[{Index:1 Scale:1 P:0.5 U2:0}]}" {
		t.Fatalf("cut at day 5: got %+v from %v", got, from)
	}
	if got, _ := tailUsable(tail, 3, counts); got != nil {
		t.Fatalf("cut at day 3: nothing before it, got %+v", got)
	}
	counts[1].Version = 11 // day 4 rewritten after the tail
	if got, _ := tailUsable(tail, 6, counts); got != nil {
		t.Fatal("tail used though a group of its days was rewritten after it")
	}
	if got, _ := tailUsable(tail, 5, counts); got != nil {
		t.Fatal("tail cut at day 5 used though day 4 was rewritten after it")
	}
	counts[1].Version = 9
	tail.Plain = false
	if got, _ := tailUsable(tail, 5, counts); got != nil {
		t.Fatal("a tail that is not Plain cut before one of its days")
	}
	if got, _ := tailUsable(nil, 6, counts); got != nil {
		t.Fatal("no tail, yet used")
	}
}

// TestChangeTailRoundTrip: a tail comes back equal, odd values bit for bit.
func TestChangeTailRoundTrip(t *testing.T) {
	tail := &load.ChangeTail{Version: 1 << 62, MaxDay: 20000, Plain: true, Cut: 20001, Last: load.RunKey{OrderedAtUS: -5, RunID: 1 << 40},
		Runs: []load.RunKey{{OrderedAtUS: -100, RunID: 7}, {OrderedAtUS: -100, RunID: 3}, {OrderedAtUS: 1 << 50, RunID: -2}},
		Days: []transform.Day{19999, 19999, 20000},
		Series: []load.TailSeries{
			{Step: load.RunSeries, Whole: true, Runs: []int32{0, 1, 2}, Values: []float64{1.234, math.Copysign(0, -1), 1e300}},
			{Step: -3, Runs: []int32{2}, Values: []float64{math.SmallestNonzeroFloat64}},
			{Step: 7, Runs: []int32{0, 2}, Values: []float64{0.1 + 0.2, 4503599627370.495}},
		},
		ScanOptions: transform.ChangeOptions{Window: 12, MaxP: 0.001, MinRatio: 0.1, MinEffect: 0.5, ConfirmWindow: 96}}
	tail.Series[0].Scan = transform.ScanTests{From: 1, To: 3}
	tail.Series[2].Scan = transform.ScanTests{From: 5, To: 900, Tests: []transform.ScanTest{
		{Index: 17, Scale: 12, P: 1e-5, U2: 288}, {Index: 18, Scale: 12, P: math.SmallestNonzeroFloat64, U2: 0},
		{Index: 700, Scale: 12, P: 0.000999, U2: 3}, {Index: 29, Scale: 24, P: 2e-9, U2: 1151}, {Index: 804, Scale: 96, P: 1e-30, U2: 18432}}}
	got, err := load.DecodeTail(load.EncodeTail(tail))
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprintf("%+v", got.Runs) != fmt.Sprintf("%+v", tail.Runs) || got.Version != tail.Version || got.MaxDay != tail.MaxDay || got.Plain != tail.Plain ||
		got.Cut != tail.Cut || got.Last != tail.Last || fmt.Sprint(got.Days) != fmt.Sprint(tail.Days) || len(got.Series) != len(tail.Series) ||
		got.ScanOptions != tail.ScanOptions {
		t.Fatalf("got %+v, want %+v", got, tail)
	}
	for i, s := range tail.Series {
		g := got.Series[i]
		if g.Step != s.Step || g.Whole != s.Whole || fmt.Sprint(g.Runs) != fmt.Sprint(s.Runs) || len(g.Values) != len(s.Values) ||
			fmt.Sprintf("%+v", g.Scan) != fmt.Sprintf("%+v", s.Scan) {
			t.Fatalf("series %d: got %+v, want %+v", i, g, s)
		}
		for k, v := range s.Values {
			if math.Float64bits(g.Values[k]) != math.Float64bits(v) {
				t.Fatalf("series %d value %d: got %v (%x), want %v (%x)", i, k, g.Values[k], math.Float64bits(g.Values[k]), v, math.Float64bits(v))
			}
		}
	}
	enc := load.EncodeTail(tail)
	for n := range len(enc) {
		if _, err := load.DecodeTail(enc[:n]); err == nil {
			t.Fatalf("a tail cut to %d of %d bytes decoded", n, len(enc))
		}
	}
}

// TestChangeTailFormat2: a tail written by the version before the scan's
// cache (format 2, these bytes) still reads, without scan tests or their
// options (so a pass scans its series in full).
func TestChangeTailFormat2(t *testing.T) {
	b, err := hex.DecodeString("0209c0b80201c2b8028080f2818389850618028080dd9af9c2800614beb802808095e789c604040202ffffffff0f010201f02e01b00906000102010000000000000080")
	if err != nil {
		t.Fatal(err)
	}
	got, err := load.DecodeTail(string(b))
	if err != nil {
		t.Fatal(err)
	}
	want := &load.ChangeTail{Version: 9, MaxDay: 20000, Plain: true, Cut: 20001, Last: load.RunKey{OrderedAtUS: 1_700_000_000_000_000, RunID: 12},
		Runs: []load.RunKey{{OrderedAtUS: 1_690_000_000_000_000, RunID: 10}, {OrderedAtUS: 1_700_000_000_000_000, RunID: 12}},
		Days: []transform.Day{19999, 20000},
		Series: []load.TailSeries{{Step: load.RunSeries, Whole: true, Runs: []int32{0, 1}, Values: []float64{1.5, 0.1 + 0.2}},
			{Step: 3, Runs: []int32{1}, Values: []float64{math.Copysign(0, -1)}}}}
	if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", want) || !math.Signbit(got.Series[1].Values[0]) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
	if _, err := load.DecodeTail("\x04" + string(b[1:])); err == nil {
		t.Fatal("a tail of an unknown format decoded")
	}
}

// checkTails checks every stored change tail against the source's series
// (built here, as the definition builds them): each of its series holds
// the last values before its cut, bit for bit, with their runs' keys and
// days, starting at the series' first value when it says so; every series
// with values before the cut is there; every run between the tail's first
// and the cut is on a day ≤ MaxDay, and every run after it on or after the
// cut day (what a pass that uses it reads). After a completed pass every
// stored tail must be current: a script changed since its tail was written
// is pending in that pass, which writes it again.
func checkTails(t *testing.T, stage string, src *fakeSource, sink *fakeSink, loc *time.Location, opt transform.ChangeOptions) (scanned int) {
	t.Helper()
	by := map[int64][]transform.Run{}
	for _, sr := range src.runs {
		r, _, ok := transform.Normalize(sr, loc, transform.DefaultLimits)
		if ok && r.Class != transform.StatusUnfinished {
			by[r.ScriptID] = append(by[r.ScriptID], r)
		}
	}
	for k, c := range sink.changes {
		if !k.IsTail() || c.deleted {
			continue
		}
		id := k.Series.ScriptID
		tail, err := load.DecodeTail(c.row.Tail)
		if err != nil {
			t.Fatalf("%s: tail of script %d: %v", stage, id, err)
		}
		runs := by[id]
		slices.SortFunc(runs, func(a, b transform.Run) int {
			if c := a.OrderedAt.Compare(b.OrderedAt); c != 0 {
				return c
			}
			return int(a.ID - b.ID)
		})
		key := func(i int) load.RunKey {
			return load.RunKey{OrderedAtUS: runs[i].OrderedAt.UnixMicro(), RunID: runs[i].ID}
		}
		series := refScriptSeries(runs, loc)
		if tail.ScanOptions != opt {
			t.Fatalf("%s: script %d: tail's scan options %+v, the pass's %+v", stage, id, tail.ScanOptions, opt)
		}
		inTail := map[int32]bool{}
		for _, ts := range tail.Series {
			inTail[ts.Step] = true
			ref := series[ts.Step]
			if ref == nil {
				t.Fatalf("%s: script %d: tail of series %d, which has no value", stage, id, ts.Step)
			}
			n := 0 // values before the cut
			for n < len(ref.values) && !tail.Last.Less(key(ref.runs[n])) {
				n++
			}
			a := n - len(ts.Values)
			if a < 0 || (ts.Whole && a != 0) {
				t.Fatalf("%s: script %d series %d: tail of %d values (whole %v), the series has %d before the cut", stage, id, ts.Step, len(ts.Values), ts.Whole, n)
			}
			for i, v := range ts.Values {
				ri := ref.runs[a+i]
				got := tail.Runs[ts.Runs[i]]
				if math.Float64bits(v) != math.Float64bits(ref.values[a+i]) || got != key(ri) || tail.Days[ts.Runs[i]] != transform.DayOf(runs[ri].OrderedAt, loc) {
					t.Fatalf("%s: script %d series %d value %d: tail %v at %+v day %v, source %v at %+v", stage, id, ts.Step, i, v, got, tail.Days[ts.Runs[i]], ref.values[a+i], key(ri))
				}
			}
			// Its scan tests are the passing tests of the whole series'
			// plain scan whose windows lie in the stretch it names.
			if ts.Scan.From < 0 || ts.Scan.To > len(ts.Values) {
				t.Fatalf("%s: script %d series %d: scan tests of [%d, %d) in a tail of %d values", stage, id, ts.Step, ts.Scan.From, ts.Scan.To, len(ts.Values))
			}
			if ts.Scan.From < ts.Scan.To {
				scanned += len(ts.Scan.Tests)
				det, err := transform.DetectChangesWithScan(ref.values, nil, opt, transform.ScanTests{})
				if err != nil {
					t.Fatal(err)
				}
				want := det.Tests.Within(a+ts.Scan.From, a+ts.Scan.To).Shift(-a)
				if fmt.Sprintf("%+v", want) != fmt.Sprintf("%+v", ts.Scan) {
					t.Fatalf("%s: script %d series %d: tail's scan tests\n%+v\nthe series' (values [%d, %d) of %d)\n%+v", stage, id, ts.Step, ts.Scan, a, n, len(ref.values), want)
				}
			}
		}
		for step, ref := range series {
			if len(ref.values) > 0 && !inTail[step] && !tail.Last.Less(key(ref.runs[0])) {
				t.Fatalf("%s: script %d: series %d has values before the cut, not in the tail", stage, id, step)
			}
		}
		if len(tail.Runs) == 0 || !tail.Plain {
			t.Fatalf("%s: script %d: a tail without runs, or not Plain (every run here is on its day): %+v", stage, id, tail)
		}
		for i := range runs {
			switch k := key(i); {
			case k.Less(tail.Runs[0]):
			case !tail.Last.Less(k):
				if d := max(runs[i].Day, transform.DayOf(runs[i].OrderedAt, loc)); d > tail.MaxDay {
					t.Fatalf("%s: script %d: run %d in the tail's span on day %v, after its MaxDay %v", stage, id, runs[i].ID, d, tail.MaxDay)
				}
			default:
				if d := min(runs[i].Day, transform.DayOf(runs[i].OrderedAt, loc)); d < tail.Cut {
					t.Fatalf("%s: script %d: run %d after the tail's last run on day %v, before its cut %v", stage, id, runs[i].ID, d, tail.Cut)
				}
			}
		}
	}
	return scanned
}

// TestKeepStoredChangePoint: a change point whose samples reach the tail's
// runs keeps its stored row only when the samples end before the first
// changed position and a row is stored at its run with samples of the same
// sizes; otherwise the script must be read (its runs' steps are needed).
func TestKeepStoredChangePoint(t *testing.T) {
	sr := newScriptRuns(nil, time.UTC)
	s := sr.series[load.RunSeries]
	for i := range 20 {
		sr.id, sr.orderedUS = append(sr.id, int64(100+i)), append(sr.orderedUS, int64(1000*i))
		sr.day, sr.groupDay = append(sr.day, 1), append(sr.groupDay, 1)
		s.values, s.runs = append(s.values, float64(i)), append(s.runs, int32(i))
	}
	sr.tailRuns = 10
	cp := transform.ChangePoint{Index: 8, RunsBefore: 4, RunsAfter: 4} // samples: positions 4 to 11
	key := load.ChangeKey{Series: load.SeriesKey{ScriptID: 3, StepIndex: load.RunSeries}, OrderedAtUS: 8000, RunID: 108}
	same := map[load.ChangeKey][2]int{key: {4, 4}}
	if got, ok := keepStored(3, sr, s, cp, 12, same); !ok || got != key {
		t.Fatalf("samples in the tail and before p, same sizes stored: got %+v %v, want %+v kept", got, ok, key)
	}
	for name, c := range map[string]struct {
		p         int
		samples   map[load.ChangeKey][2]int
		tailRuns  int
		runsAfter int
	}{
		"samples reach p":                    {p: 11, samples: same, tailRuns: 10, runsAfter: 4},
		"stored with a longer after sample":  {p: 12, samples: map[load.ChangeKey][2]int{key: {4, 5}}, tailRuns: 10, runsAfter: 4},
		"stored with a shorter after sample": {p: 12, samples: same, tailRuns: 10, runsAfter: 3},
		"none stored at its run":             {p: 12, samples: map[load.ChangeKey][2]int{{Series: key.Series, OrderedAtUS: 7000, RunID: 107}: {4, 4}}, tailRuns: 10, runsAfter: 4},
		"samples after the tail":             {p: 12, samples: same, tailRuns: 4, runsAfter: 4},
		"no tail":                            {p: 12, samples: same, tailRuns: 0, runsAfter: 4},
	} {
		sr.tailRuns = c.tailRuns
		cp := cp
		cp.RunsAfter = c.runsAfter
		if got, ok := keepStored(3, sr, s, cp, c.p, c.samples); ok {
			t.Errorf("%s: kept %+v", name, got)
		}
	}
}

// TestTailNotServingReadsTwoRAtOnce: every series keeps 2r values in the
// tail, so that a failing quiet check is served by it; when a script's tail
// does not serve (a change point whose samples reach the tail's runs),
// the script is read again with 2r values before the first changed day of
// every series not proved unchanged, at once: never a third read because
// the read planned for the quiet checks (2S values) is short of 2r. Runs
// with one step, all with valid durations (the counts are exact), fewer a
// day than (2r − 2S)/2; now and then the level moves, so that quiet checks
// fail. Every pass stays exact.
func TestTailNotServingReadsTwoRAtOnce(t *testing.T) {
	ctx := context.Background()
	opt := localOptions(t)["short scan"]
	r, _ := opt.Radius()
	// The tail: 2S values before the day before its cut, and that day's;
	// the read: the cut day's. So p = 2S + 2·perDay, short of 2r.
	perDay := (2*r-quietTail(opt))/2 - 1
	var notServed, passes int
	for seed := range uint64(6) {
		rng := rand.New(rand.NewPCG(seed, 77))
		src, sink := newFakeSource(), newFakeSink()
		start := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
		level, id := 20.0, int64(1)
		day := func(d int) {
			for k := range perDay {
				at := start.Add(time.Duration(d)*24*time.Hour + time.Duration(k*1440/perDay)*time.Minute)
				src.put(id, 5, "success", at, level*(1+0.05*rng.NormFloat64()))
				id++
			}
		}
		for d := range 20 {
			day(d)
		}
		job := crashingJob(src, sink, opt, 0)
		if _, err := job.Run(ctx, RunOptions{}); err != nil {
			t.Fatal(err)
		}
		for d := 20; d < 60; d++ {
			if rng.IntN(3) == 0 {
				level *= 0.4 + 1.6*rng.Float64()
			}
			day(d)
			reads := len(sink.changeReads)
			sum, err := job.Run(ctx, RunOptions{})
			if err != nil {
				t.Fatal(err)
			}
			stage := fmt.Sprintf("seed %d day %d", seed, d)
			checkChanges(t, stage, src, sink, opt)
			passes++
			if sum.Detect.Rereads > 0 && sum.Detect.Tails == 0 {
				notServed++ // the tail was used, then did not serve (Tails counted back)
			}
			// Every series of the tail keeps 2r values (or all it has):
			// a failing quiet check is then served by the tail.
			if c, ok := sink.changes[load.TailKey(5)]; ok && !c.deleted {
				tl, err := load.DecodeTail(c.row.Tail)
				if err != nil {
					t.Fatal(err)
				}
				for _, ts := range tl.Series {
					if !ts.Whole && len(ts.Values) < 2*r {
						t.Fatalf("%s: series %d keeps %d values in its tail, want at least 2r = %d", stage, ts.Step, len(ts.Values), 2*r)
					}
				}
			}
			if n := len(sink.changeReads) - reads; n > 2 {
				t.Fatalf("%s: %d reads of the script in one pass (rereads %d), want at most 2: %+v", stage, n, sum.Detect.Rereads, sink.changeReads[reads:])
			}
		}
	}
	t.Logf("passes %d, of which the tail did not serve %d", passes, notServed)
	if notServed == 0 {
		t.Fatal("no pass where the tail did not serve: the test must take that path")
	}
}

// TestStoredTailHeader: what a pass keeps of a stored tail it does not use
// whole — its version, days, cut, last run and scan options, none of its
// runs or values — leaves the tail it came from whole, and never counts as
// the tail the pass used (unchangedTail compares them by identity).
func TestStoredTailHeader(t *testing.T) {
	tail := &load.ChangeTail{Version: 9, MaxDay: 20000, Plain: true, Cut: 20001, Last: load.RunKey{OrderedAtUS: 5, RunID: 2},
		Runs: []load.RunKey{{OrderedAtUS: 1, RunID: 1}}, Days: []transform.Day{19999},
		Series:      []load.TailSeries{{Step: load.RunSeries, Whole: true, Runs: []int32{0}, Values: []float64{1.5}}},
		ScanOptions: transform.DefaultChangeOptions()}
	h := tail.Header()
	if h.Version != 9 || h.MaxDay != 20000 || !h.Plain || h.Cut != 20001 || h.Last != tail.Last || h.ScanOptions != tail.ScanOptions {
		t.Fatalf("header %+v of %+v", h, tail)
	}
	if h.Runs != nil || h.Days != nil || h.Series != nil {
		t.Fatalf("the header holds values: %+v", h)
	}
	if len(tail.Runs) != 1 || len(tail.Days) != 1 || len(tail.Series) != 1 || tail.Series[0].Values[0] != 1.5 {
		t.Fatalf("the tail lost its values: %+v", tail)
	}
	same := &load.ChangeTail{Version: 10, Cut: 20001, ScanOptions: tail.ScanOptions}
	if unchangedTail(same, &changeWindow{stored: h}) || unchangedTail(same, &changeWindow{stored: h, tail: tail}) {
		t.Fatal("a tail the pass did not use counts as left as stored")
	}
	if !unchangedTail(same, &changeWindow{stored: tail, tail: tail}) {
		t.Fatal("the tail the pass used whole, with the same cut and options, is not left as stored")
	}
}
