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

// ZoneProbes returns the instants at which to compare two copies of loc's
// rules (Go's and PostgreSQL's) over [from, to]: the second before and the
// second of every change of offset, and noon UTC of each 1 January and
// 1 July (for zones whose offset never changes there).
func ZoneProbes(loc *time.Location, from, to time.Time) []time.Time {
	var out []time.Time
	for y := from.Year(); y <= to.Year(); y++ {
		for _, m := range []time.Month{time.January, time.July} {
			if t := time.Date(y, m, 1, 12, 0, 0, 0, time.UTC); !t.Before(from) && !t.After(to) {
				out = append(out, t)
			}
		}
	}
	for t := from; t.Before(to); {
		_, end := t.In(loc).ZoneBounds()
		if end.IsZero() || end.After(to) {
			break
		}
		if !end.After(t) { // a year's end in a rule-based period (see SameZone)
			t = t.Add(time.Hour)
			continue
		}
		_, before := end.Add(-time.Second).In(loc).Zone()
		if _, after := end.In(loc).Zone(); before != after {
			out = append(out, end.Add(-time.Second), end)
		}
		t = end
	}
	return out
}

// DatesComeBack reports whether loc's clocks ever go back over midnight
// between 1900 and 2299 — a date then comes back for a while after the next
// one began (America/Goose_Bay on 2010-11-07: 00:01 back to 23:01 of the
// 6th), so that the days of runs taken in time order are not sorted.
// Zones whose clocks go back from 24:00 to 23:00 (America/Santiago,
// Asia/Beirut) never show the next date first: they do not count.
func DatesComeBack(loc *time.Location) bool {
	for t := dayScanLo; !t.After(dayScanHi); {
		_, end := t.In(loc).ZoneBounds()
		if end.IsZero() {
			return false // the zone never changes again
		}
		if !end.After(t) { // a year's end in a rule-based period (see SameZone)
			t = t.Add(time.Hour)
			continue
		}
		if DayOf(end.Add(-time.Microsecond), loc) > DayOf(end, loc) {
			return true
		}
		t = end
	}
	return false
}

// DaysSpan returns the instants [lo, hi) that hold every instant whose
// local date in loc lies in [from, to]: lo is from's Start, hi the end of
// the last instant dated to or earlier. On most days hi is (to+1).Start;
// where a date comes back (DatesComeBack: America/St_Johns on 2010-11-07
// went from 00:01 back to 23:01 of the 6th) hi lies past it, and the span
// also holds instants of other days, which a reader of the span skips.
func DaysSpan(from, to Day, loc *time.Location) (lo, hi time.Time) {
	lo, hi = from.Start(loc), (to + 1).Start(loc)
	// Follow the zone's periods for three days after hi: within one the
	// offset is fixed and the date only grows, so the instants dated to or
	// earlier are a prefix of it, up to local midnight of to+1.
	limit := hi.Add(72 * time.Hour)
	for t := hi; t.Before(limit); {
		_, end := t.In(loc).ZoneBounds()
		if end.IsZero() {
			end = limit
		}
		if !end.After(t) { // a year's end in a rule-based period (see SameZone)
			t = t.Add(time.Hour)
			continue
		}
		if DayOf(t, loc) <= to {
			_, off := t.In(loc).Zone()
			last := (to + 1).Time().Add(-time.Duration(off) * time.Second)
			if end.Before(last) {
				last = end
			}
			if last.After(hi) {
				hi = last
			}
		}
		t = end
	}
	return lo, hi
}
