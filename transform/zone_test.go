package transform

import "testing"

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
