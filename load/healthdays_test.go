package load_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/scriptstats/scriptstats/load"
	"github.com/scriptstats/scriptstats/transform"
)

// TestHealthDaysRoundTrip: on ClickHouse, the runs of the days asked for
// come back group by group with their attempts (skipped steps and
// unfinished runs left out, by hand below); a summary written against a
// group's version comes back whole while that version is current, and not
// once the group is rewritten with another version.
func TestHealthDaysRoundTrip(t *testing.T) {
	_, sink := migrated(t)
	ctx := context.Background()
	at := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	day := transform.DayOf(at, time.UTC)
	h := time.Hour
	runs := []transform.Run{
		healthRun(1, 5, at, transform.StatusSuccess,
			transform.Step{Index: 2, Name: str("a"), Status: transform.StepSuccess},
			transform.Step{Index: 3, Status: transform.StepSkipped}),
		healthRun(2, 5, at.Add(h), transform.StatusFailed,
			transform.Step{Index: 2, Status: transform.StepFailed, Error: str("boom")}),
		healthRun(3, 5, at.Add(2*h), transform.StatusUnfinished,
			transform.Step{Index: 2, Status: transform.StepFailed, Error: str("unfinished")}),
		healthRun(4, 5, at.Add(24*h), transform.StatusSuccess,
			transform.Step{Index: 2, Status: transform.StepSuccess}),
		healthRun(5, 6, at, transform.StatusSuccess), // no steps
	}
	if err := sink.WriteRuns(ctx, runs, nil, 1); err != nil {
		t.Fatal(err)
	}
	groups := []load.Group{
		{Key: transform.GroupKey{ScriptID: 5, Day: day}, HasDay: true, Day: transform.ScriptDay{Total: 2}},
		{Key: transform.GroupKey{ScriptID: 5, Day: day + 1}, HasDay: true, Day: transform.ScriptDay{Total: 1}},
		{Key: transform.GroupKey{ScriptID: 6, Day: day}, HasDay: true, Day: transform.ScriptDay{Total: 1}},
		{Key: transform.GroupKey{ScriptID: 5, Day: day - 3}}, // a tombstone
	}
	if err := sink.WriteGroups(ctx, groups, 10); err != nil {
		t.Fatal(err)
	}
	days, err := sink.HealthDays(ctx, []int64{5, 6}, day-5)
	if err != nil {
		t.Fatal(err)
	}
	wantDays := []load.HealthDay{
		{Key: transform.GroupKey{ScriptID: 5, Day: day}, GroupVersion: 10},
		{Key: transform.GroupKey{ScriptID: 5, Day: day + 1}, GroupVersion: 10},
		{Key: transform.GroupKey{ScriptID: 6, Day: day}, GroupVersion: 10},
	}
	if !reflect.DeepEqual(days, wantDays) {
		t.Fatalf("days %+v\nwant %+v", days, wantDays)
	}
	var got []transform.GroupKey
	var gotRuns [][]load.HealthRun
	keys := []transform.GroupKey{{ScriptID: 5, Day: day}, {ScriptID: 6, Day: day}}
	if err := sink.HealthDayRuns(ctx, keys, func(k transform.GroupKey, r []load.HealthRun) error {
		got, gotRuns = append(got, k), append(gotRuns, r)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// Script 6's run has no steps: its group is not handed over.
	if !reflect.DeepEqual(got, keys[:1]) {
		t.Fatalf("groups %v, want %v", got, keys[:1])
	}
	wantRuns := []load.HealthRun{
		{Key: load.RunKey{OrderedAtUS: at.UnixMicro(), RunID: 1}, FailureAtUS: at.Add(time.Minute).UnixMicro(),
			Attempts: []load.HealthAttempt{{Index: 2, Name: str("a")}}},
		{Key: load.RunKey{OrderedAtUS: at.Add(h).UnixMicro(), RunID: 2}, FailureAtUS: at.Add(h + time.Minute).UnixMicro(),
			Attempts: []load.HealthAttempt{{Index: 2, Failed: true, Error: str("boom")}}},
	}
	if !reflect.DeepEqual(gotRuns[0], wantRuns) {
		t.Fatalf("runs %+v\nwant %+v", gotRuns[0], wantRuns)
	}
	// Asked for (5, day+1) and (6, day): the read covers both dates of
	// both scripts; (5, day) is not handed over.
	got = nil
	if err := sink.HealthDayRuns(ctx, []transform.GroupKey{{ScriptID: 5, Day: day + 1}, {ScriptID: 6, Day: day}},
		func(k transform.GroupKey, r []load.HealthRun) error {
			got = append(got, k)
			if len(r) != 1 || r[0].Key.RunID != 4 {
				t.Errorf("group %v: runs %+v, want run 4", k, r)
			}
			return nil
		}); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, []transform.GroupKey{{ScriptID: 5, Day: day + 1}}) {
		t.Fatalf("groups %v, want only (5, day+1)", got)
	}
	// A summary of day, against version 10: S then F.
	var seg transform.StepSegment
	seg.Add(transform.StepAttempt{At: at, RunID: 1, Day: day, Name: str("a"), FailureAt: at.Add(time.Minute)})
	seg.Add(transform.StepAttempt{At: at.Add(h), RunID: 2, Day: day, Failed: true, FailureAt: at.Add(h + time.Minute), Error: str("boom")})
	sum := load.DaySummary{Runs: 2, First: wantRuns[0].Key, Last: wantRuns[1].Key, Steps: []load.DayStep{{Index: 2, Segment: seg}}}
	if err := sink.WriteHealthDays(ctx, []load.HealthDayRow{{Key: keys[0], GroupVersion: 10, Summary: sum}}, 11); err != nil {
		t.Fatal(err)
	}
	days, err = sink.HealthDays(ctx, []int64{5}, day)
	if err != nil {
		t.Fatal(err)
	}
	if len(days) != 2 || days[0].Summary == nil || days[1].Summary != nil {
		t.Fatalf("after the write: %+v", days)
	}
	if !reflect.DeepEqual(*days[0].Summary, sum) {
		t.Fatalf("summary read back %+v\nwant %+v", *days[0].Summary, sum)
	}
	// The group rewritten by a later pass: the summary is stale.
	if err := sink.WriteGroups(ctx, groups[:1], 12); err != nil {
		t.Fatal(err)
	}
	days, err = sink.HealthDays(ctx, []int64{5}, day)
	if err != nil {
		t.Fatal(err)
	}
	if len(days) != 2 || days[0].GroupVersion != 12 || days[0].Summary != nil {
		t.Fatalf("after the group's rewrite: %+v", days)
	}
}
