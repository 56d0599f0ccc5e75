package demodata

import (
	"math"
	"math/rand/v2"
	"slices"
	"time"
	_ "time/tzdata" // the odd mode's zones must exist wherever the generator runs
)

// The history is cut into one-minute slots from Start to End. Each slot gets
// a share of the runs proportional to a daily/weekly pattern, apportioned by
// cumulative rounding so the total is exact; the slots are generated one
// after the other, so memory is bounded by one slot's runs.

const slotLen = time.Minute

type point struct {
	t            time.Time
	neverStarted bool
}

type timeline struct {
	start, end time.Time
	slots      int
	counts     []int32 // regular runs per slot
	points     []point // odd mode: runs at fixed instants, sorted
}

func (tl *timeline) bounds(i int) (time.Time, time.Time) {
	a := tl.start.Add(time.Duration(i) * slotLen)
	b := a.Add(slotLen)
	if b.After(tl.end) {
		b = tl.end
	}
	return a, b
}

func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// slotWeight is the relative number of runs started in the slot at t: busy
// working hours (UTC), quiet weekends, cron bursts at full and quarter
// hours, a nightly batch around 02:00, a slight growth over the window and a
// per-day jitter.
func slotWeight(t time.Time, seed int64, start, end time.Time) float64 {
	h := float64(t.Hour()) + float64(t.Minute())/60
	w := 0.15 + 1.0*math.Exp(-sq((h-13)/4)) + 0.35*math.Exp(-sq((h-2.25)/0.6))
	switch t.Weekday() {
	case time.Saturday:
		w *= 0.5
	case time.Sunday:
		w *= 0.45
	}
	switch {
	case t.Minute() == 0:
		w *= 4
	case t.Minute()%15 == 0:
		w *= 2
	}
	day := uint64(t.Unix() / 86400)
	w *= 0.85 + 0.3*float64(splitmix(uint64(seed)^day*0x51ed27)>>11)/(1<<53)
	frac := float64(t.Sub(start)) / float64(end.Sub(start))
	return w * (0.85 + 0.3*frac)
}

func sq(x float64) float64 { return x * x }

func newTimeline(start, end time.Time, seed int64, runs int, points []point) *timeline {
	tl := &timeline{start: start, end: end, points: points}
	tl.slots = int((end.Sub(start) + slotLen - 1) / slotLen)
	tl.counts = make([]int32, tl.slots)
	regular := runs - len(points)
	total := 0.0
	for i := 0; i < tl.slots; i++ {
		a, b := tl.bounds(i)
		total += slotWeight(a, seed, start, end) * float64(b.Sub(a)) / float64(slotLen)
	}
	cum, assigned := 0.0, 0
	for i := 0; i < tl.slots; i++ {
		a, b := tl.bounds(i)
		cum += slotWeight(a, seed, start, end) * float64(b.Sub(a)) / float64(slotLen)
		upto := int(math.Round(cum / total * float64(regular)))
		if i == tl.slots-1 {
			upto = regular
		}
		upto = min(upto, regular)
		tl.counts[i] = int32(upto - assigned)
		assigned = upto
	}
	return tl
}

// oddZones are the zones whose local midnights and DST changes get runs in
// odd mode: half-hour and 45-minute offsets, ±14/-11 hours, a 30-minute DST
// shift (Lord Howe) and DST at midnight (Santiago).
var oddZones = []string{
	"UTC", "America/New_York", "Europe/Berlin", "Asia/Kolkata", "Asia/Kathmandu",
	"Australia/Lord_Howe", "Pacific/Kiritimati", "Pacific/Pago_Pago", "America/Santiago",
}

// DSTChange is a UTC-offset change of a zone inside the history window.
type DSTChange struct {
	Zone     string    `json:"zone"`
	At       time.Time `json:"at"`        // the instant of the change
	LocalDay string    `json:"local_day"` // the zone's calendar date of the change
	Hours    float64   `json:"hours"`     // length of that local day: 23, 25, 23.5, …
}

// specialPoints returns the odd mode's fixed instants in [start, end): around
// every local midnight of oddZones (two per midnight, at offsets from -1 s to
// +1 s) and around every DST change (±1 µs, exact, ±30 min, and the edges of
// its local day), at most maxPoints, DST changes kept first.
func specialPoints(start, end time.Time, seed int64, maxPoints int) ([]point, []DSTChange, error) {
	r := newRand(seed, 3)
	offsets := []time.Duration{-time.Second, -time.Millisecond, -time.Microsecond, 0, time.Microsecond, time.Second}
	var mids, dst []point
	var changes []DSTChange
	for _, name := range oddZones {
		loc, err := time.LoadLocation(name)
		if err != nil {
			return nil, nil, err
		}
		y, m, d := start.In(loc).Date()
		for date := time.Date(y, m, d, 0, 0, 0, 0, time.UTC); ; date = date.AddDate(0, 0, 1) {
			day, next := dayStart(date, loc), dayStart(date.AddDate(0, 0, 1), loc)
			if !day.Before(end) {
				break
			}
			for _, k := range r.Perm(len(offsets))[:2] {
				if t := day.Add(offsets[k]); !t.Before(start) && t.Before(end) {
					mids = append(mids, point{t: t})
				}
			}
			// A change of offset within the local day (or at its start, when
			// it skips midnight): find it to the second.
			if at, ok := offsetChange(day.Add(-time.Second), next); ok && !at.Before(start) && at.Before(end) {
				changes = append(changes, DSTChange{Zone: name, At: at.UTC(), LocalDay: date.Format(time.DateOnly), Hours: next.Sub(day).Hours()})
				for _, off := range []time.Duration{-30 * time.Minute, -time.Microsecond, 0, time.Microsecond, 30 * time.Minute} {
					if t := at.Add(off); !t.Before(start) && t.Before(end) {
						dst = append(dst, point{t: t})
					}
				}
				// The edges of the 23/25-hour local day.
				for _, t := range []time.Time{day.Add(-time.Microsecond), day, next.Add(-time.Microsecond), next} {
					if !t.Before(start) && t.Before(end) {
						dst = append(dst, point{t: t})
					}
				}
			}
		}
	}
	if len(dst) > maxPoints {
		dst = dst[:maxPoints]
	}
	if room := maxPoints - len(dst); len(mids) > room {
		kept := make([]point, 0, room)
		for i := 0; i < room; i++ {
			kept = append(kept, mids[i*len(mids)/room])
		}
		mids = kept
	}
	pts := append(dst, mids...)
	for i := range pts {
		pts[i].t = pts[i].t.UTC()
		pts[i].neverStarted = i%4 == 3
	}
	slices.SortStableFunc(pts, func(a, b point) int { return a.t.Compare(b.t) })
	slices.SortFunc(changes, func(a, b DSTChange) int { return a.At.Compare(b.At) })
	return pts, changes, nil
}

// dayStart is the first instant of the civil date (of date, a UTC
// midnight) in loc: local midnight, or the DST change when the change skips
// midnight (America/Santiago).
func dayStart(date time.Time, loc *time.Location) time.Time {
	t := time.Date(date.Year(), date.Month(), date.Day(), 0, 0, 0, 0, loc)
	if t.Day() != date.Day() { // normalized into the day before: midnight does not exist
		if at, ok := offsetChange(t, t.Add(4*time.Hour)); ok {
			return at
		}
	}
	return t
}

// offsetChange finds, to the second, a change of UTC offset in [from, to).
func offsetChange(from, to time.Time) (time.Time, bool) {
	_, o1 := from.Zone()
	if _, o2 := to.Add(-time.Nanosecond).Zone(); o1 == o2 {
		return time.Time{}, false
	}
	lo, hi := from, to
	for hi.Sub(lo) > time.Second {
		mid := lo.Add(hi.Sub(lo) / 2)
		if _, o := mid.Zone(); o == o1 {
			lo = mid
		} else {
			hi = mid
		}
	}
	return hi.Truncate(time.Second), true
}

// slotItem is one run to make in the current slot.
type slotItem struct {
	us      int64 // unix microseconds of created_at
	special int8  // 0 regular, 1 fixed instant, 2 fixed instant never started
}

// fill returns the runs of slot i in created_at order; *pi walks tl.points.
func (tl *timeline) fill(i int, r *rand.Rand, pi *int, buf []slotItem) []slotItem {
	buf = buf[:0]
	a, b := tl.bounds(i)
	au, bu := a.UnixMicro(), b.UnixMicro()
	span := bu - au
	for k := int32(0); k < tl.counts[i]; k++ {
		buf = append(buf, slotItem{us: au + r.Int64N(max(span, 1))})
	}
	for *pi < len(tl.points) && tl.points[*pi].t.Before(b) {
		p := tl.points[*pi]
		it := slotItem{us: p.t.UnixMicro(), special: 1}
		if p.neverStarted {
			it.special = 2
		}
		buf = append(buf, it)
		*pi++
	}
	slices.SortFunc(buf, func(x, y slotItem) int {
		if x.us != y.us {
			if x.us < y.us {
				return -1
			}
			return 1
		}
		return int(x.special) - int(y.special)
	})
	return buf
}
