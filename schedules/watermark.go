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
// pass refuses. Without a marker (a hot standby) the bound is T − lookback
// and rests on the lookback alone.

// maxMarkers bounds the marker history kept in the state.
const maxMarkers = 5000

// lowerBound returns where the incremental read starts; the zero time means
// from the beginning (a transaction of unknown age has completed).
func lowerBound(wm *load.Watermark, snap extract.SnapshotInfo, lookback time.Duration) time.Time {
	bound := wm.SnapshotTime
	if wm.Marker == 0 {
		return bound.Add(-lookback)
	}
	oldest, found := oldestCompleted(wm, snap)
	if found {
		appeared, known := appearedAfter(oldest, wm.Markers)
		if !known {
			return time.Time{}
		}
		if appeared.Before(bound) {
			bound = appeared
		}
	}
	return bound.Add(-lookback)
}

// oldestCompleted returns the smallest id that was running (or assigned but
// not complete) at the previous snapshot and has completed by this one.
func oldestCompleted(wm *load.Watermark, snap extract.SnapshotInfo) (int64, bool) {
	running := make(map[int64]struct{}, len(snap.InProgress))
	for _, x := range snap.InProgress {
		running[x] = struct{}{}
	}
	completed := func(x int64) bool {
		_, r := running[x]
		return x < snap.Xmax && !r
	}
	for _, x := range wm.InProgress { // ascending
		if completed(x) {
			return x, true
		}
	}
	// Ids in [xmax, marker) of the previous snapshot: assigned before its
	// marker and not complete at its snapshot. The range is a handful of ids
	// in practice; scanning a huge one is capped (and stays correct, if less
	// tight, by answering its first id).
	const scanCap = 1 << 20
	for x := wm.Xmax; x < wm.Marker; x++ {
		if x-wm.Xmax >= scanCap {
			return wm.Xmax, true
		}
		if completed(x) {
			return x, true
		}
	}
	return 0, false
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
