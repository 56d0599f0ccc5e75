package transform

import (
	"testing"
	"time"
)

func TestSameZone(t *testing.T) {
	for _, c := range []struct {
		a, b string
		same bool
	}{
		{"UTC", "Etc/UTC", true},
		{"UTC", "Etc/GMT", true},
		{"UTC", "Zulu", true},
		{"Etc/UTC", "Etc/Universal", true},
		{"Asia/Calcutta", "Asia/Kolkata", true},
		{"America/Buenos_Aires", "America/Argentina/Buenos_Aires", true},
		{"Europe/Berlin", "Europe/Berlin", true},
		{"UTC", "Europe/London", false},          // BST
		{"UTC", "Africa/Abidjan", false},         // LMT until 1912
		{"Europe/Berlin", "Europe/Paris", false}, // differ before 1945
		{"America/Santiago", "America/Asuncion", false},
		{"Etc/GMT+5", "America/Panama", false}, // Panama: LMT/CMT before 1908
	} {
		if got := SameZone(mustLoc(t, c.a), mustLoc(t, c.b)); got != c.same {
			t.Errorf("SameZone(%s, %s) = %v, want %v", c.a, c.b, got, c.same)
		}
		if got := SameZone(mustLoc(t, c.b), mustLoc(t, c.a)); got != c.same {
			t.Errorf("SameZone(%s, %s) = %v, want %v", c.b, c.a, got, c.same)
		}
	}
}

// TestZoneProbes: Santiago's changes of 2024 are probed on both sides;
// a fixed zone gets only the twice-yearly probes.
func TestZoneProbes(t *testing.T) {
	from, to := ts(t, "2024-01-01T00:00:00Z"), ts(t, "2024-12-31T00:00:00Z")
	got := map[string]bool{}
	for _, p := range ZoneProbes(mustLoc(t, "America/Santiago"), from, to) {
		got[p.UTC().Format(time.RFC3339)] = true
	}
	for _, want := range []string{
		"2024-01-01T12:00:00Z", "2024-07-01T12:00:00Z",
		"2024-04-07T02:59:59Z", "2024-04-07T03:00:00Z", // 24:00 -03 → 23:00 -04
		"2024-09-08T03:59:59Z", "2024-09-08T04:00:00Z", // 24:00 -04 → 01:00 -03
	} {
		if !got[want] {
			t.Errorf("no probe at %s (have %v)", want, got)
		}
	}
	if len(got) != 6 {
		t.Errorf("%d probes, want 6: %v", len(got), got)
	}
	if n := len(ZoneProbes(mustLoc(t, "Asia/Kolkata"), from, to)); n != 2 {
		t.Errorf("Asia/Kolkata 2024: %d probes, want 2", n)
	}
}

// TestDatesComeBack: the zones whose clocks went back over midnight, by
// their tz rules (America/Goose_Bay and America/St_Johns at 00:01 until
// 2010–2011), against zones that go back elsewhere in the day or at 24:00.
func TestDatesComeBack(t *testing.T) {
	for name, want := range map[string]bool{
		"UTC": false, "Europe/Berlin": false, "America/New_York": false, "Asia/Kolkata": false,
		"America/Santiago": false, "Asia/Beirut": false, "Australia/Lord_Howe": false,
		"America/Goose_Bay": true, "America/St_Johns": true,
	} {
		loc, err := time.LoadLocation(name)
		if err != nil {
			t.Skipf("no tz data: %v", err)
		}
		if got := DatesComeBack(loc); got != want {
			t.Errorf("%s: %v, want %v", name, got, want)
		}
	}
}

// TestDaysSpan: the span of a range of days holds every instant dated in
// it, found by scanning every minute around; where the date comes back it
// reaches past the next day's start.
func TestDaysSpan(t *testing.T) {
	for _, c := range []struct {
		zone     string
		from, to string
		hi       string // the span's end, UTC
	}{
		// St. John's, 2010-11-07: 00:01 (-02:30) back to 23:01 of the 6th
		// (-03:30); the 6th ends again at 03:30Z.
		{"America/St_Johns", "2010-11-06", "2010-11-06", "2010-11-07T03:30:00Z"},
		{"America/St_Johns", "2010-11-07", "2010-11-07", "2010-11-08T03:30:00Z"},
		{"America/St_Johns", "2010-11-05", "2010-11-06", "2010-11-07T03:30:00Z"},
		// Ordinary days, a midnight that does not exist, a repeated hour
		// after midnight, a day skipped whole.
		{"UTC", "2026-01-01", "2026-01-01", "2026-01-02T00:00:00Z"},
		{"America/Havana", "2024-03-09", "2024-03-09", "2024-03-10T05:00:00Z"},
		{"America/Havana", "2024-11-03", "2024-11-03", "2024-11-04T05:00:00Z"},
		{"Pacific/Apia", "2011-12-29", "2011-12-29", "2011-12-30T10:00:00Z"},
	} {
		loc, err := time.LoadLocation(c.zone)
		if err != nil {
			t.Fatal(err)
		}
		from, _ := ParseDay(c.from)
		to, _ := ParseDay(c.to)
		lo, hi := DaysSpan(from, to, loc)
		if want, _ := time.Parse(time.RFC3339, c.hi); !hi.Equal(want) {
			t.Errorf("%s %s..%s: span ends %v, want %v", c.zone, c.from, c.to, hi.UTC(), want)
		}
		// Every half minute of three days either side: an instant dated in
		// the range lies in the span (which may hold other days too).
		for m := lo.Add(-72 * time.Hour); m.Before(hi.Add(72 * time.Hour)); m = m.Add(30 * time.Second) {
			if d := DayOf(m, loc); d >= from && d <= to && (m.Before(lo) || !m.Before(hi)) {
				t.Fatalf("%s %s..%s: %v is dated %s but outside the span [%v, %v)", c.zone, c.from, c.to, m.UTC(), d, lo.UTC(), hi.UTC())
			}
		}
	}
}
