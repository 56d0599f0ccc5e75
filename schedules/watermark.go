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
// updated_at >= its lower bound. A row version written by transaction X is
// seen by the first pass whose snapshot was taken after X committed; the
// previous pass did not see X. The stamp u of the row is the database clock
// during X (now(), statement_timestamp(), clock_timestamp(): all at or after
// X's start), or an application clock at most `lookback` behind it.
//
// The horizon. Right before its snapshot, each pass reads the start time of
// every open transaction of the database (pg_stat_activity.xact_start) and
// the clock (ReadAt). A transaction the snapshot does not see was open then
// — listed, so it began at or after the oldest start — or began after
// ReadAt. The pass stores H = min(ReadAt, oldest start, the bound of every
// prepared transaction), and the next pass reads from H − lookback: u >= X's
// start >= H. This holds whatever X did in between: a first write long after
// BEGIN, savepoints (subtransaction ids do not matter), PREPARE TRANSACTION.
// A prepared transaction shows no start: one first seen by a pass began
// after the previous pass read its activity, so the previous horizon bounds
// it, and that bound is kept while it stays prepared (unknown at the first
// pass: the pass after it commits reads everything once).
//
// When the horizon is incomplete — sessions of other roles whose start the
// job's role may not see (no pg_read_all_stats), or a hot standby, where the
// primary's sessions cannot be seen at all — the pass says so (a warning and
// a metric) and falls back on what it can know: the visible horizon, and the
// marker transaction ids below. On a standby the data is as of the last
// replayed commit: its time, not the standby's clock, is the snapshot time.
//
// The markers. Right after its snapshot each pass takes a transaction id of
// its own, the marker M: ids above M were assigned after T. So if X > M(previous
// pass), X got its id after T. Otherwise X was already assigned, and still
// running, at the previous snapshot: it is in that snapshot's in-progress
// list, or between its xmax and its marker. The pass finds the oldest such X
// that has completed since, and the latest earlier marker below it, whose
// time T' bounds when X got its id. The bound is then min(T, T') − lookback,
// which holds only if X stamped its rows at most `lookback` before its first
// write (the id is assigned at the first write). Transaction ids are 64-bit
// (xid8): they never wrap, and a source whose xmax went back was restored
// from a backup, which a pass refuses. A transaction older than every marker
// cannot be dated: its rows are read by writer instead (xmin).

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
	if wm.HorizonComplete {
		// The horizon bounds every stamp the contract covers. A transaction
		// older than every marker is still read by writer, as before the
		// horizon: that also finds rows an application stamped far in the
		// past (beyond what the contract asks).
		plan := scanPlan{From: before(wm.Horizon, lookback)}
		if wm.Marker != 0 {
			for _, x := range completedSince(wm, snap) {
				if _, known := appearedAfter(x, wm.Markers); !known {
					plan.ByWriter = append(plan.ByWriter, x)
				}
			}
		}
		if len(plan.ByWriter) > maxByWriter {
			plan.ByWriter = nil
		}
		return plan
	}
	bound := wm.SnapshotTime
	if !wm.Horizon.IsZero() && wm.Horizon.Before(bound) {
		bound = wm.Horizon
	}
	if wm.Marker == 0 {
		return scanPlan{From: before(bound, lookback)}
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
	plan.From = before(bound, lookback)
	return plan
}

// before returns t − d, or the zero time (everything) for a zero t.
func before(t time.Time, d time.Duration) time.Time {
	if t.IsZero() {
		return t
	}
	return t.Add(-d)
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

// nextWatermark records the snapshot this pass read, its horizon and the
// markers still needed to date transactions that may be running.
func nextWatermark(prev *load.Watermark, snap extract.SnapshotInfo) *load.Watermark {
	wm := &load.Watermark{
		SnapshotTime: snap.Time,
		Xmin:         snap.Xmin,
		Xmax:         snap.Xmax,
		Marker:       snap.Marker,
		InProgress:   slices.Sorted(slices.Values(snap.InProgress)),
	}
	wm.Horizon, wm.HorizonComplete, wm.Prepared = horizon(prev, snap.Activity)
	if a := snap.Activity; a.InRecovery && !a.ReplayAt.IsZero() && a.ReplayAt.Before(wm.SnapshotTime) {
		// A standby's data is as of its last replayed commit.
		wm.SnapshotTime = a.ReplayAt
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

// horizon returns a time no later than the start of any transaction the
// snapshot after this activity does not see, whether every such
// transaction was accounted for, and the prepared transactions with the
// bound of their start.
func horizon(prev *load.Watermark, a extract.Activity) (h time.Time, complete bool, prepared []load.PreparedSince) {
	h = a.ReadAt
	if a.InRecovery {
		// The primary's sessions, the ones that write, are out of sight:
		// the data is as of the last replayed commit.
		if !a.ReplayAt.IsZero() && a.ReplayAt.Before(h) {
			h = a.ReplayAt
		}
		return h, false, nil
	}
	if !a.OldestStart.IsZero() && a.OldestStart.Before(h) {
		h = a.OldestStart
	}
	known := map[int64]time.Time{}
	var prevHorizon time.Time
	if prev != nil {
		for _, p := range prev.Prepared {
			known[p.Xid] = p.Since
		}
		if prev.HorizonComplete {
			prevHorizon = prev.Horizon
		}
	}
	unknown := false
	for _, x := range a.Prepared {
		since, ok := known[x.Xid]
		if !ok {
			// Prepared after the previous pass read its activity: it was
			// open then, or began later.
			since = prevHorizon
		}
		prepared = append(prepared, load.PreparedSince{Xid: x.Xid, Since: since})
		if since.IsZero() {
			unknown = true
		} else if since.Before(h) {
			h = since
		}
	}
	if unknown {
		h = time.Time{}
	}
	return h, a.HiddenSessions == 0, prepared
}
