package schedules

import (
	"testing"
	"time"
)

// TestIncrementalInterval: /healthz's interval comes from the cron spec.
func TestIncrementalInterval(t *testing.T) {
	now := time.Date(2026, 11, 27, 10, 1, 0, 0, time.UTC)
	for spec, want := range map[string]time.Duration{
		"*/5 * * * *": 5 * time.Minute,
		"@every 1s":   time.Second,
		"@hourly":     time.Hour,
		"0 3 * * *":   24 * time.Hour,
		"not a spec":  5 * time.Minute,
	} {
		if got := (Plan{Incremental: spec}).IncrementalInterval(now, time.UTC); got != want {
			t.Errorf("IncrementalInterval(%q) = %s, want %s", spec, got, want)
		}
	}
}
