package load

import (
	"time"

	"github.com/scriptstats/scriptstats/transform"
)

// Conversions between transform's nullable values and the pointers the
// ClickHouse driver takes for Nullable columns.

func strPtr(v transform.NullString) *string {
	if !v.Valid {
		return nil
	}
	s := v.String
	return &s
}

func floatPtr(v transform.NullFloat) *float64 {
	if !v.Valid {
		return nil
	}
	f := v.Float64
	return &f
}

func int32Ptr(v transform.NullInt32) *int32 {
	if !v.Valid {
		return nil
	}
	i := v.Int32
	return &i
}

func timePtr(v transform.NullTime) *time.Time {
	if !v.Valid {
		return nil
	}
	t := v.Time
	return &t
}

func nullString(p *string) transform.NullString {
	if p == nil {
		return transform.NullString{}
	}
	return transform.NullString{String: *p, Valid: true}
}

func nullFloat(p *float64) transform.NullFloat {
	if p == nil {
		return transform.NullFloat{}
	}
	return transform.NullFloat{Float64: *p, Valid: true}
}

func nullTime(p *time.Time) transform.NullTime {
	if p == nil {
		return transform.NullTime{}
	}
	return transform.NullTime{Time: *p, Valid: true}
}

// dayOf converts a Date32 value read from ClickHouse (midnight UTC).
func dayOf(t time.Time) transform.Day {
	y, m, d := t.UTC().Date()
	return transform.DayFromDate(y, m, d)
}
