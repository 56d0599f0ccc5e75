package transform

import (
	"testing"
	"time"
	_ "time/tzdata" // the tests need zones even where the system has none
)

func mustLoc(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// ts parses an RFC 3339 time.
func ts(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func nullTime(t testing.TB, s string) NullTime { return NullTime{Time: ts(t, s), Valid: true} }
func nullFloat(f float64) NullFloat            { return NullFloat{Float64: f, Valid: true} }
func nullStr(s string) NullString              { return NullString{String: s, Valid: true} }
func nullInt(i int32) NullInt32                { return NullInt32{Int32: i, Valid: true} }

// mustNormalize normalizes src in UTC with the default limits and fails the
// test when the run is rejected.
func mustNormalize(t testing.TB, src SourceRun) Run {
	t.Helper()
	run, _, ok := Normalize(src, time.UTC, DefaultLimits)
	if !ok {
		t.Fatalf("run %d rejected", src.ID)
	}
	return run
}

// created is a created_at for runs whose time does not matter.
var created = time.Date(2026, time.May, 1, 12, 0, 0, 0, time.UTC)
