package schedules

import (
	"testing"
	"time"

	"github.com/scriptstats/scriptstats/extract"
	"github.com/scriptstats/scriptstats/load"
)

var t0 = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

func markers(pairs ...any) []load.MarkerAt {
	var out []load.MarkerAt
	for i := 0; i < len(pairs); i += 2 {
		out = append(out, load.MarkerAt{Xid: int64(pairs[i].(int)), Time: pairs[i+1].(time.Time)})
	}
	return out
}

func TestLowerBoundWithoutLongTransactions(t *testing.T) {
	wm := &load.Watermark{SnapshotTime: t0, Xmin: 100, Xmax: 100, Marker: 100, Markers: markers(100, t0)}
	got := planScan(wm, extract.SnapshotInfo{Time: t0.Add(5 * time.Minute), Xmin: 150, Xmax: 150, Marker: 150}, 10*time.Minute).From
	if want := t0.Add(-10 * time.Minute); !got.Equal(want) {
		t.Fatalf("bound = %v, want %v", got, want)
	}
}

func TestLowerBoundReachesBackForCompletedTransaction(t *testing.T) {
	// At the last snapshot (t0) xids 90 and 95 were running. Markers say 90
	// got its id after the pass of t0-1h (marker 80) and 95 after t0-30m
	// (marker 93). 90 has completed since, 95 still runs.
	wm := &load.Watermark{SnapshotTime: t0, Xmin: 90, Xmax: 100, Marker: 100, InProgress: []int64{90, 95},
		Markers: markers(80, t0.Add(-time.Hour), 93, t0.Add(-30*time.Minute), 100, t0)}
	snap := extract.SnapshotInfo{Time: t0.Add(5 * time.Minute), Xmin: 95, Xmax: 150, Marker: 150, InProgress: []int64{95}}
	got := planScan(wm, snap, time.Minute).From
	if want := t0.Add(-time.Hour - time.Minute); !got.Equal(want) {
		t.Fatalf("bound = %v, want %v", got, want)
	}
}

func TestLowerBoundSeesTransactionsAboveXmax(t *testing.T) {
	// PostgreSQL leaves the newest running transactions out of the
	// in-progress list: ids at or above xmax. 101 got its id before the
	// marker 103 of the last pass (t0), after the marker 99 (t0-5m).
	wm := &load.Watermark{SnapshotTime: t0, Xmin: 101, Xmax: 101, Marker: 103,
		Markers: markers(99, t0.Add(-5*time.Minute), 103, t0)}
	snap := extract.SnapshotInfo{Time: t0.Add(5 * time.Minute), Xmin: 120, Xmax: 120, Marker: 120}
	got := planScan(wm, snap, 0).From
	if want := t0.Add(-5 * time.Minute); !got.Equal(want) {
		t.Fatalf("bound = %v, want %v", got, want)
	}
}

func TestUnknownAgeIsReadByWriter(t *testing.T) {
	// 90 was running before the first marker (100): it cannot be dated, so
	// its rows are read by writer, and the time bound stays tight.
	wm := &load.Watermark{SnapshotTime: t0, Xmin: 90, Xmax: 100, Marker: 100, InProgress: []int64{90}, Markers: markers(100, t0)}
	got := planScan(wm, extract.SnapshotInfo{Time: t0, Xmin: 110, Xmax: 110, Marker: 110}, time.Minute)
	if !got.From.Equal(t0.Add(-time.Minute)) || len(got.ByWriter) != 1 || got.ByWriter[0] != 90 {
		t.Fatalf("plan = %+v, want from %v and by writer [90]", got, t0.Add(-time.Minute))
	}
}

func TestLowerBoundWithoutMarkerFallsBackToLookback(t *testing.T) {
	wm := &load.Watermark{SnapshotTime: t0, Xmin: 90, Xmax: 100, InProgress: []int64{90}}
	got := planScan(wm, extract.SnapshotInfo{Time: t0, Xmin: 110, Xmax: 110}, time.Minute).From
	if want := t0.Add(-time.Minute); !got.Equal(want) {
		t.Fatalf("bound = %v, want %v", got, want)
	}
}

func TestNextWatermarkPrunesMarkers(t *testing.T) {
	prev := &load.Watermark{Markers: markers(10, t0.Add(-3*time.Hour), 20, t0.Add(-2*time.Hour), 30, t0.Add(-time.Hour))}
	snap := extract.SnapshotInfo{Time: t0, Xmin: 25, Xmax: 40, Marker: 41, InProgress: []int64{33, 25}}
	wm := nextWatermark(prev, snap)
	if len(wm.Markers) != 3 || wm.Markers[0].Xid != 20 || wm.Markers[2].Xid != 41 {
		t.Fatalf("markers = %+v, want 20, 30, 41 (20 is the latest below xmin 25)", wm.Markers)
	}
	if wm.InProgress[0] != 25 || wm.InProgress[1] != 33 {
		t.Fatalf("in-progress not sorted: %v", wm.InProgress)
	}
}
