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
