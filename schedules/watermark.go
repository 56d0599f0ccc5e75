package schedules

import (
	"slices"
	"time"

	"github.com/scriptstats/scriptstats/extract"
	"github.com/scriptstats/scriptstats/load"
)

// The incremental read and why no committed row is missed.
//
// A pass reads, in one REPEATABLE READ snapshot, every run with
// updated_at >= its lower bound. A row version written by transaction X with
// stamp u is seen by the first pass whose snapshot was taken after X
// committed; the previous pass (snapshot time T) did not see X. The
// assumption: a stamp is at most `lookback` older than the moment its
// transaction got its id (its first write) — clock skew between writer and
// database plus the time from BEGIN to the first write stay under it.
//
// Right after its snapshot each pass takes a transaction id of its own, the
// marker M: ids above M were assigned after T. So if X > M(previous pass),
// u >= T − lookback. Otherwise X was already assigned, and still running,
// at the previous snapshot: it is in that snapshot's in-progress list, or
// between its xmax and its marker. The pass finds the oldest such X that has
// completed since, and the latest earlier marker below it, whose time T'
// bounds when X got its id: u >= T' − lookback. The bound is therefore
// min(T, T') − lookback. Transaction ids are 64-bit (xid8): they never wrap,
// and a source whose xmax went back was restored from a backup, which a
// pass refuses. A transaction older than every marker (running since before
// the first pass) cannot be dated: its rows are read by writer instead
// (xmin), a scan that returns only them. Without a marker (a hot standby)
// the bound is T − lookback and rests on the lookback alone.

// maxMarkers bounds the marker history kept in the state.
const maxMarkers = 5000

// maxByWriter bounds how many transactions of unknown age are read by
// writer; beyond it the pass reads everything again.
const maxByWriter = 10000

// scanPlan says what an incremental pass reads: every run with
// updated_at >= From, plus the runs written by ByWriter, transactions that
// were running at the previous snapshot, have committed since, and whose
// start cannot be dated (they began before any marker, e.g. before the
// first pass). A zero From means everything.
type scanPlan struct {
	From     time.Time
	ByWriter []int64
}

func planScan(wm *load.Watermark, snap extract.SnapshotInfo, lookback time.Duration) scanPlan {
	bound := wm.SnapshotTime
	if wm.Marker == 0 {
		return scanPlan{From: bound.Add(-lookback)}
	}
	var plan scanPlan
	for _, x := range completedSince(wm, snap) {
		appeared, known := appearedAfter(x, wm.Markers)
		if !known {
			plan.ByWriter = append(plan.ByWriter, x)
			continue
		}
		if appeared.Before(bound) {
			bound = appeared
		}
	}
	if len(plan.ByWriter) > maxByWriter {
		return scanPlan{}
	}
	plan.From = bound.Add(-lookback)
	return plan
}

// completedSince returns, ascending, the ids that were running (or
// assigned but not complete) at the previous snapshot and have completed by
// this one. A range of more than a million such ids is answered by its
// first id alone: the bound is then conservative rather than exact.
func completedSince(wm *load.Watermark, snap extract.SnapshotInfo) []int64 {
	running := make(map[int64]struct{}, len(snap.InProgress))
	for _, x := range snap.InProgress {
		running[x] = struct{}{}
	}
	completed := func(x int64) bool {
		_, r := running[x]
		return x < snap.Xmax && !r
	}
	var out []int64
	for _, x := range wm.InProgress { // ascending
		if completed(x) {
			out = append(out, x)
		}
	}
	// Ids in [xmax, marker) of the previous snapshot: assigned before its
	// marker and not complete at its snapshot.
	const scanCap = 1 << 20
	for x := wm.Xmax; x < wm.Marker; x++ {
		if x-wm.Xmax >= scanCap {
			out = append(out, wm.Xmax)
			break
		}
		if completed(x) {
			out = append(out, x)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// appearedAfter returns the snapshot time of the latest marker below xid:
// the transaction got its id after that time.
func appearedAfter(xid int64, markers []load.MarkerAt) (time.Time, bool) {
	i, _ := slices.BinarySearchFunc(markers, xid, func(m load.MarkerAt, x int64) int {
		switch {
		case m.Xid < x:
			return -1
		case m.Xid > x:
			return 1
		}
		return 0
	})
	if i == 0 {
		return time.Time{}, false
	}
	return markers[i-1].Time, true
}

// nextWatermark records the snapshot this pass read and the markers still
// needed to date transactions that may be running.
func nextWatermark(prev *load.Watermark, snap extract.SnapshotInfo) *load.Watermark {
	wm := &load.Watermark{
		SnapshotTime: snap.Time,
		Xmin:         snap.Xmin,
		Xmax:         snap.Xmax,
		Marker:       snap.Marker,
		InProgress:   slices.Sorted(slices.Values(snap.InProgress)),
	}
	var markers []load.MarkerAt
	if prev != nil {
		markers = append(markers, prev.Markers...)
	}
	if snap.Marker != 0 {
		markers = append(markers, load.MarkerAt{Xid: snap.Marker, Time: snap.Time})
	}
	// Every transaction that may still complete has an id >= xmin: keep
	// the latest marker below xmin (it dates those ids) and all above.
	keepFrom := 0
	for i, m := range markers {
		if m.Xid < snap.Xmin {
			keepFrom = i
		}
	}
	markers = markers[keepFrom:]
	if len(markers) > maxMarkers {
		markers = markers[len(markers)-maxMarkers:]
	}
	wm.Markers = markers
	return wm
}
