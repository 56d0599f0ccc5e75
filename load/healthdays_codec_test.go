package load

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/scriptstats/scriptstats/transform"
)

// TestDayStepsRoundTrip: random day summaries (segments built from random
// attempts: names and errors NULL or not, empty and long texts, times
// before 1970) come back equal from their packed value, and every
// truncation of a value is an error, never a wrong summary.
func TestDayStepsRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 9))
	day := transform.DayFromDate(2026, 11, 20)
	for trial := range 500 {
		base := day.Time().Add(time.Duration(r.IntN(3600)) * time.Second)
		if trial%7 == 0 {
			base = time.Date(1950, 1, 1, 0, 0, 0, 0, time.UTC)
		}
		var steps []DayStep
		for idx := range r.IntN(5) {
			var g transform.StepSegment
			at := base
			for k := range 1 + r.IntN(30) {
				at = at.Add(time.Duration(r.IntN(600)) * time.Second)
				a := transform.StepAttempt{At: at, RunID: int64(k + 1), Day: day, Failed: r.IntN(3) == 0,
					FailureAt: at.Add(time.Duration(r.IntN(100)) * time.Second)}
				if r.IntN(3) > 0 {
					a.Name = transform.NullString{String: fmt.Sprintf("name %d", r.IntN(4)), Valid: true}
				}
				if a.Failed && r.IntN(3) > 0 {
					a.Error = transform.NullString{String: string(make([]byte, r.IntN(300))), Valid: true}
				}
				g.Add(a)
			}
			steps = append(steps, DayStep{Index: int32(idx*7 - 3), Segment: g})
		}
		packed := encodeDaySteps(steps)
		got, err := decodeDaySteps(packed, day)
		if err != nil {
			t.Fatalf("trial %d: %v", trial, err)
		}
		if len(steps) == 0 {
			steps = []DayStep{}
		}
		if !reflect.DeepEqual(got, steps) {
			t.Fatalf("trial %d:\n got  %+v\n want %+v", trial, got, steps)
		}
		for cut := range len(packed) {
			if _, err := decodeDaySteps(packed[:cut], day); err == nil {
				t.Fatalf("trial %d: a value cut to %d of %d bytes decoded", trial, cut, len(packed))
			}
		}
	}
}
