package transform

import (
	"testing"
	"time"
)

// TestDayStart checks the first instant of days against values written by
// hand from the IANA rules (zdump -v shows the same transitions).
func TestDayStart(t *testing.T) {
	cases := []struct {
		zone, day, want string // want in UTC
	}{
		// Ordinary days.
		{"UTC", "2024-09-08", "2024-09-08T00:00:00Z"},
		{"Europe/Berlin", "2024-03-31", "2024-03-30T23:00:00Z"}, // DST starts at 02:00: midnight exists (+01)
		{"Europe/Berlin", "2024-04-01", "2024-03-31T22:00:00Z"}, // +02
		{"Asia/Kathmandu", "2024-01-01", "2023-12-31T18:15:00Z"},
		// Midnight does not exist: clocks jump from 00:00 to 01:00.
		{"America/Santiago", "2024-09-07", "2024-09-07T04:00:00Z"}, // -04
		{"America/Santiago", "2024-09-08", "2024-09-08T04:00:00Z"}, // jump at 00:00 -04 = 04:00Z; first local time 01:00 -03
		{"America/Santiago", "2024-09-09", "2024-09-09T03:00:00Z"}, // -03
		{"America/Havana", "2024-03-10", "2024-03-10T05:00:00Z"},   // CST -05 → CDT -04 at 00:00
		{"America/Havana", "2024-03-11", "2024-03-11T04:00:00Z"},
		{"America/Asuncion", "2024-10-06", "2024-10-06T04:00:00Z"}, // -04 → -03 at 00:00
		{"America/Santiago", "2025-09-07", "2025-09-07T04:00:00Z"},
		// Clocks set back at midnight: 23:00–24:00 of the day before occurs
		// twice; midnight once, in the new offset.
		{"America/Santiago", "2024-04-07", "2024-04-07T04:00:00Z"},
		// Clocks set back at 01:00: 00:00–01:00 occurs twice; the first
		// midnight is in the old offset (CDT -04).
		{"America/Havana", "2024-11-03", "2024-11-03T04:00:00Z"},
		// A skipped day: Samoa went from 2011-12-29 24:00 -10 to
		// 2011-12-31 00:00 +14.
		{"Pacific/Apia", "2011-12-30", "2011-12-30T10:00:00Z"},
		{"Pacific/Apia", "2011-12-31", "2011-12-30T10:00:00Z"},
		{"Pacific/Apia", "2011-12-29", "2011-12-29T10:00:00Z"},
	}
	for _, c := range cases {
		loc := mustLoc(t, c.zone)
		d, err := ParseDay(c.day)
		if err != nil {
			t.Fatal(err)
		}
		got := d.Start(loc)
		if want := ts(t, c.want); !got.Equal(want) {
			t.Errorf("%s %s: start %s (%s), want %s", c.zone, c.day, got.UTC().Format(time.RFC3339), got, c.want)
		}
	}
}

// TestDayStartIsFirstInstant checks the definition over every day of
// 2000–2030 in zones with unusual transitions: Start(d) has local date
// >= d, and the second before it a local date < d.
func TestDayStartIsFirstInstant(t *testing.T) {
	zones := []string{"America/Santiago", "America/Havana", "America/Asuncion", "Asia/Beirut",
		"America/Scoresbysund", "Australia/Lord_Howe", "Pacific/Apia", "Europe/Berlin", "Asia/Kathmandu"}
	for _, z := range zones {
		loc := mustLoc(t, z)
		for d := DayFromDate(2000, 1, 1); d <= DayFromDate(2030, 12, 31); d++ {
			s := d.Start(loc)
			if DayOf(s, loc) < d || DayOf(s.Add(-time.Second), loc) >= d {
				t.Fatalf("%s %s: start %s is not the first instant of the day", z, d, s)
			}
		}
	}
}
