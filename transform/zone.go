package transform

import "time"

// SameZone reports whether a and b give the same UTC offset at every
// instant that can carry a run's day (1900-01-01 to 2299-12-31, with two
// days' margin), and so put every run on the same day. Names that denote
// one zone — UTC, Etc/UTC, Etc/GMT, Zulu; Asia/Calcutta and Asia/Kolkata —
// are the same zone; zones that differ at any instant in that span are not.
func SameZone(a, b *time.Location) bool {
	if a == b {
		return true
	}
	for t := dayScanLo; !t.After(dayScanHi); {
		_, oa := t.In(a).Zone()
		_, ob := t.In(b).Zone()
		if oa != ob {
			return false
		}
		_, endA := t.In(a).ZoneBounds()
		_, endB := t.In(b).ZoneBounds()
		next := endA
		if next.IsZero() || (!endB.IsZero() && endB.Before(next)) {
			next = endB
		}
		if next.IsZero() {
			return true // neither zone changes again
		}
		if !next.After(t) {
			// Go's bounds of zones that follow a yearly rule stop at a year's
			// end; an hour on, they go on.
			next = t.Add(time.Hour)
		}
		t = next
	}
	return true
}
