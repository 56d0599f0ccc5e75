package schedules

import (
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/scriptstats/scriptstats/extract"
	"github.com/scriptstats/scriptstats/load"
)

// A pass reads from the start of the oldest transaction open before the
// previous snapshot, whatever the markers say.
func TestHorizonIsTheOldestOpenTransaction(t *testing.T) {
	a := extract.Activity{ReadAt: t0, OldestStart: t0.Add(-25 * time.Minute)}
	wm := nextWatermark(nil, extract.SnapshotInfo{Time: t0.Add(time.Millisecond), Xmin: 100, Xmax: 100, Marker: 100, Activity: a})
	if !wm.HorizonComplete || !wm.Horizon.Equal(t0.Add(-25*time.Minute)) {
		t.Fatalf("horizon = %v complete %v, want %v complete", wm.Horizon, wm.HorizonComplete, t0.Add(-25*time.Minute))
	}
	// The transaction got its id after the marker (its first write came
	// late): the markers alone would give t0 − lookback.
	next := extract.SnapshotInfo{Time: t0.Add(5 * time.Minute), Xmin: 150, Xmax: 150, Marker: 150}
	got := planScan(wm, next, 5*time.Second)
	if want := t0.Add(-25*time.Minute - 5*time.Second); !got.From.Equal(want) || len(got.ByWriter) != 0 {
		t.Fatalf("plan = %+v, want from %v and nothing by writer", got, want)
	}
}

func TestHorizonWithNoOpenTransactionIsTheReadTime(t *testing.T) {
	wm := nextWatermark(nil, extract.SnapshotInfo{Time: t0.Add(time.Millisecond), Activity: extract.Activity{ReadAt: t0}})
	if got := planScan(wm, extract.SnapshotInfo{}, time.Minute).From; !got.Equal(t0.Add(-time.Minute)) {
		t.Fatalf("from = %v, want %v", got, t0.Add(-time.Minute))
	}
}

// Hidden sessions make the horizon incomplete: the markers (and reads by
// writer) are used as before, and the visible horizon still counts.
func TestHiddenSessionsFallBackOnMarkers(t *testing.T) {
	a := extract.Activity{ReadAt: t0, OldestStart: t0.Add(-2 * time.Minute), HiddenSessions: 3}
	wm := nextWatermark(&load.Watermark{Markers: markers(80, t0.Add(-time.Hour))},
		extract.SnapshotInfo{Time: t0, Xmin: 90, Xmax: 100, Marker: 100, InProgress: []int64{90}, Activity: a})
	if wm.HorizonComplete {
		t.Fatal("horizon complete with hidden sessions")
	}
	next := extract.SnapshotInfo{Time: t0.Add(5 * time.Minute), Xmin: 150, Xmax: 150, Marker: 150}
	got := planScan(wm, next, time.Minute).From
	// 90 completed since; it got its id after marker 80 (t0 − 1h).
	if want := t0.Add(-time.Hour - time.Minute); !got.Equal(want) {
		t.Fatalf("from = %v, want %v", got, want)
	}
	// Without a long transaction, the visible horizon (t0 − 2m) bounds.
	wm = nextWatermark(nil, extract.SnapshotInfo{Time: t0, Xmin: 100, Xmax: 100, Marker: 100, Activity: a})
	if got, want := planScan(wm, next, time.Minute).From, t0.Add(-3*time.Minute); !got.Equal(want) {
		t.Fatalf("from = %v, want %v", got, want)
	}
}

// A prepared transaction first seen by a pass began after the previous
// pass read its activity; its bound is kept while it stays prepared.
func TestPreparedTransactionsKeepTheirBound(t *testing.T) {
	p1 := nextWatermark(nil, extract.SnapshotInfo{Time: t0, Activity: extract.Activity{ReadAt: t0, OldestStart: t0.Add(-time.Minute)}})
	prep := []extract.PreparedXact{{Xid: 777, PreparedAt: t0.Add(time.Minute)}}
	p2 := nextWatermark(p1, extract.SnapshotInfo{Time: t0.Add(time.Hour), Activity: extract.Activity{ReadAt: t0.Add(time.Hour), Prepared: prep}})
	if !p2.HorizonComplete || !p2.Horizon.Equal(t0.Add(-time.Minute)) {
		t.Fatalf("second pass horizon = %v, want %v (the first pass's)", p2.Horizon, t0.Add(-time.Minute))
	}
	p3 := nextWatermark(p2, extract.SnapshotInfo{Time: t0.Add(2 * time.Hour), Activity: extract.Activity{ReadAt: t0.Add(2 * time.Hour), Prepared: prep}})
	if !p3.Horizon.Equal(t0.Add(-time.Minute)) {
		t.Fatalf("third pass horizon = %v, want the kept bound %v", p3.Horizon, t0.Add(-time.Minute))
	}
	p4 := nextWatermark(p3, extract.SnapshotInfo{Time: t0.Add(3 * time.Hour), Activity: extract.Activity{ReadAt: t0.Add(3 * time.Hour)}})
	if !p4.Horizon.Equal(t0.Add(3*time.Hour)) || len(p4.Prepared) != 0 {
		t.Fatalf("after commit: horizon = %v prepared %v, want %v and none", p4.Horizon, p4.Prepared, t0.Add(3*time.Hour))
	}
}

// A transaction already prepared at the first pass cannot be dated: the
// pass after it commits reads everything once.
func TestPreparedAtFirstPassReadsEverything(t *testing.T) {
	prep := []extract.PreparedXact{{Xid: 5, PreparedAt: t0.Add(-time.Hour)}}
	wm := nextWatermark(nil, extract.SnapshotInfo{Time: t0, Activity: extract.Activity{ReadAt: t0, Prepared: prep}})
	if !wm.HorizonComplete || !wm.Horizon.IsZero() {
		t.Fatalf("horizon = %v complete %v, want unknown (zero) and complete", wm.Horizon, wm.HorizonComplete)
	}
	if got := planScan(wm, extract.SnapshotInfo{}, time.Minute).From; !got.IsZero() {
		t.Fatalf("from = %v, want everything", got)
	}
}

// On a standby the data is as of the last replayed commit, not the
// standby's clock: a paused replay must not move the bound forward.
func TestStandbyBoundIsTheLastReplayedCommit(t *testing.T) {
	replay := t0.Add(-40 * time.Minute)
	a := extract.Activity{ReadAt: t0, InRecovery: true, ReplayAt: replay, OldestStart: t0.Add(-time.Second)}
	wm := nextWatermark(nil, extract.SnapshotInfo{Time: t0, Xmin: 100, Xmax: 100, Activity: a})
	if wm.HorizonComplete {
		t.Fatal("a standby's horizon is never complete")
	}
	if got, want := planScan(wm, extract.SnapshotInfo{}, time.Minute).From, replay.Add(-time.Minute); !got.Equal(want) {
		t.Fatalf("from = %v, want %v", got, want)
	}
}

// States written before the horizon existed keep the marker logic.
func TestStateWithoutHorizonUsesMarkers(t *testing.T) {
	wm := &load.Watermark{SnapshotTime: t0, Xmin: 100, Xmax: 100, Marker: 100, Markers: markers(100, t0)}
	if got := planScan(wm, extract.SnapshotInfo{Time: t0, Xmin: 110, Xmax: 110, Marker: 110}, time.Minute).From; !got.Equal(t0.Add(-time.Minute)) {
		t.Fatalf("from = %v, want %v", got, t0.Add(-time.Minute))
	}
}

func TestGuaranteeIssues(t *testing.T) {
	var logs strings.Builder
	j := &Job{Lookback: 10 * time.Minute, Log: zerolog.New(&logs)}
	cases := []struct {
		a    extract.Activity
		want string
	}{
		{extract.Activity{ReadAt: t0}, ""},
		{extract.Activity{ReadAt: t0, InRecovery: true}, IssueStandby},
		{extract.Activity{ReadAt: t0, HiddenSessions: 2}, IssueHiddenSessions},
	}
	for _, c := range cases {
		logs.Reset()
		var sum Summary
		j.checkGuarantee(c.a, &sum)
		if sum.GuaranteeIssue != c.want {
			t.Errorf("%+v: issue %q, want %q", c.a, sum.GuaranteeIssue, c.want)
		}
		if warned := strings.Contains(logs.String(), `"level":"warn"`); warned != (c.want != "") {
			t.Errorf("%+v: warned %v, log %s", c.a, warned, logs.String())
		}
	}
	logs.Reset()
	var sum Summary
	j.checkGuarantee(extract.Activity{ReadAt: t0, OldestStart: t0.Add(-3 * time.Hour), OldestSession: "pid 42"}, &sum)
	if sum.HeldBack != 3*time.Hour || !strings.Contains(logs.String(), "pid 42") {
		t.Fatalf("held back %v, log %s; want 3h and a warning naming the session", sum.HeldBack, logs.String())
	}
}
