package schedules

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/scriptstats/scriptstats/transform"
)

// TestChangePointsWhereADateComesBack: in America/Goose_Bay on 2010-11-07
// the clocks went back at 00:01 (−03) to 23:01 of the 6th (−04): a run at
// 00:00:30 is on the 7th, the runs of the next hour on the 6th again. The
// change points of a series crossing that minute are still computed (the
// method once refused the series: "the series must be in time order") and
// equal the definition over the whole series, with the days given to the
// method as labels that never go back — after the first load, after new
// runs, and after a late run in the repeated hour.
func TestChangePointsWhereADateComesBack(t *testing.T) {
	goose, err := time.LoadLocation("America/Goose_Bay")
	if err != nil {
		t.Skipf("no tz data: %v", err)
	}
	back := time.Date(2010, 11, 7, 3, 1, 0, 0, time.UTC) // 00:01 −03, the clocks go back
	if d1, d2 := transform.DayOf(back.Add(-30*time.Second), goose), transform.DayOf(back.Add(time.Minute), goose); d2 >= d1 {
		t.Fatalf("tz data: %v then %v: no date comes back at %v", d1, d2, back)
	}
	ctx := context.Background()
	r := rand.New(rand.NewPCG(7, 11))
	src := newFakeSource()
	next := int64(1)
	add := func(at time.Time) {
		level := 20.0
		if at.After(back.Add(36 * time.Hour)) {
			level = 30 // +50 %, a day and a half after the clocks went back
		}
		d := level * math.Exp(0.05*r.NormFloat64())
		src.scripts[1] = "nightly"
		src.runs[next] = transform.SourceRun{ID: next, ScriptID: 1, Status: "success",
			StartedAt: transform.NullTime{Time: at, Valid: true}, CreatedAt: at, UpdatedAt: src.tick(),
			Duration: transform.NullFloat{Float64: d, Valid: true},
			Steps:    []byte(fmt.Sprintf(`[{"index":0,"name":"fetch","status":"success","duration":%.4f}]`, d/2))}
		next++
	}
	start := back.Add(-3 * 24 * time.Hour)
	for at := start; at.Before(back.Add(3 * 24 * time.Hour)); at = at.Add(9 * time.Minute) {
		add(at)
	}
	add(back.Add(-30 * time.Second)) // on the 7th, just before the clocks go back
	add(back.Add(-20 * time.Second))
	opt := transform.DefaultChangeOptions()
	sink := newFakeSink()
	j := fakeJob(src, sink, "")
	j.Zone, j.ZoneName = goose, "America/Goose_Bay"
	pass := func(stage string) {
		t.Helper()
		if _, err := j.Run(ctx, RunOptions{}); err != nil {
			t.Fatalf("%s: %v", stage, err)
		}
		if n := checkChangesIn(t, stage, src, sink, opt, goose); n == 0 {
			t.Fatalf("%s: no change point: the planted +50 %% shift was not found", stage)
		}
	}
	pass("first load")
	for at := back.Add(3 * 24 * time.Hour); at.Before(back.Add(4 * 24 * time.Hour)); at = at.Add(9 * time.Minute) {
		add(at)
	}
	pass("new runs")
	add(back.Add(25 * time.Minute)) // late: in the repeated hour, on the 6th
	pass("a late run in the repeated hour")
	// Late runs on each later day: the reads start on every day around the
	// one that comes back, among them the 7th, whose runs the repeated
	// hour's (stored on the 6th) follow.
	for d := 1; d <= 8; d++ {
		add(back.Add(time.Duration(d)*24*time.Hour + 7*time.Minute))
		pass(fmt.Sprintf("a late run %d days after the clocks went back", d))
	}
	// A read planned from the 7th starts on the 6th in this zone (a day
	// earlier, detectChanges): the story must have made one.
	sixth := transform.DayOf(back.Add(-24*time.Hour), goose)
	found := false
	for _, rd := range sink.changeReads {
		found = found || rd.from == sixth
	}
	if !found {
		t.Fatalf("no read started on %v: the story does not reach the read that follows the date that comes back", sixth)
	}
}
