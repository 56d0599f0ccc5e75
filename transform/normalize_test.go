package transform

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestNormalizeDayDST(t *testing.T) {
	ny := mustLoc(t, "America/New_York")
	// 2026-03-08 has 23 h in New York (EST -5 until 07:00Z, then EDT -4);
	// 2026-11-01 has 25 h (EDT -4 until 06:00Z, then EST -5).
	tests := []struct {
		name    string
		started string // UTC
		want    string
	}{
		{"spring 00:30 EST", "2026-03-08T05:30:00Z", "2026-03-08"},
		{"spring 01:30 EST", "2026-03-08T06:30:00Z", "2026-03-08"},
		{"spring 03:30 EDT (02:30 does not exist)", "2026-03-08T07:30:00Z", "2026-03-08"},
		{"spring 23:30 EDT", "2026-03-09T03:30:00Z", "2026-03-08"},
		{"spring last second of the day before", "2026-03-08T04:59:59Z", "2026-03-07"},
		{"spring midnight", "2026-03-08T05:00:00Z", "2026-03-08"},
		{"spring last second", "2026-03-09T03:59:59Z", "2026-03-08"},
		{"spring next midnight", "2026-03-09T04:00:00Z", "2026-03-09"},
		{"fall last second of the day before", "2026-11-01T03:59:59Z", "2026-10-31"},
		{"fall midnight", "2026-11-01T04:00:00Z", "2026-11-01"},
		{"fall 00:30 EDT", "2026-11-01T04:30:00Z", "2026-11-01"},
		{"fall first 01:30 (EDT)", "2026-11-01T05:30:00Z", "2026-11-01"},
		{"fall second 01:30 (EST)", "2026-11-01T06:30:00Z", "2026-11-01"},
		{"fall 23:30 EST", "2026-11-02T04:30:00Z", "2026-11-01"},
		{"fall last second", "2026-11-02T04:59:59Z", "2026-11-01"},
		{"fall next midnight", "2026-11-02T05:00:00Z", "2026-11-02"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := SourceRun{ID: 1, Status: "success", StartedAt: nullTime(t, tc.started),
				CreatedAt: ts(t, "2000-01-01T00:00:00Z")}
			run, iss, ok := Normalize(src, ny, DefaultLimits)
			if !ok || run.Day.String() != tc.want {
				t.Fatalf("day = %s (ok %v), want %s", run.Day, ok, tc.want)
			}
			if !run.OrderedAt.Equal(ts(t, tc.started)) {
				t.Errorf("OrderedAt = %v", run.OrderedAt)
			}
			if iss != (Issues{InvalidDuration: 1}) { // no duration given
				t.Errorf("issues = %+v", iss)
			}
		})
	}

	// 1970-01-01 .. 2026-01-01 is 56*365 + 14 leap days = 20454 days, then
	// 31 (Jan) + 28 (Feb) + 7 days to March 8.
	run, _, _ := Normalize(SourceRun{Status: "success", StartedAt: nullTime(t, "2026-03-08T05:00:00Z")}, ny, DefaultLimits)
	if run.Day != 20520 {
		t.Errorf("Day = %d, want 20520", run.Day)
	}
	// Without started_at, created_at decides.
	run, _, _ = Normalize(SourceRun{Status: "queued", CreatedAt: ts(t, "2026-11-02T04:30:00Z")}, ny, DefaultLimits)
	if run.Day.String() != "2026-11-01" || !run.OrderedAt.Equal(ts(t, "2026-11-02T04:30:00Z")) {
		t.Errorf("created_at: day %s, OrderedAt %v", run.Day, run.OrderedAt)
	}
	// A nil zone is UTC.
	run, _, _ = Normalize(SourceRun{Status: "queued", CreatedAt: ts(t, "2026-11-02T04:30:00Z")}, nil, DefaultLimits)
	if run.Day.String() != "2026-11-02" {
		t.Errorf("nil zone: day %s", run.Day)
	}
}

func TestNormalizeDayOutOfRange(t *testing.T) {
	ny := mustLoc(t, "America/New_York")
	plus2 := time.FixedZone("+02", 2*3600)
	tests := []struct {
		name    string
		started NullTime
		created time.Time
		loc     *time.Location
		ok      bool
	}{
		{"first day", nullTime(t, "1900-01-01T00:00:00Z"), time.Time{}, time.UTC, true},
		{"day before", nullTime(t, "1899-12-31T23:59:59Z"), time.Time{}, time.UTC, false},
		{"last day", nullTime(t, "2299-12-31T23:59:59Z"), time.Time{}, time.UTC, true},
		{"day after", nullTime(t, "2300-01-01T00:00:00Z"), time.Time{}, time.UTC, false},
		// 03:00Z is 22:00 the day before in New York (-5 then).
		{"zone moves it out", nullTime(t, "1900-01-01T03:00:00Z"), time.Time{}, ny, false},
		// 23:00Z the day before is 01:00 on 1900-01-01 at +02.
		{"zone moves it in", nullTime(t, "1899-12-31T23:00:00Z"), time.Time{}, plus2, true},
		{"+infinity", NullTime{Time: time.Date(294276, 12, 31, 23, 59, 59, 999999000, time.UTC), Valid: true}, time.Time{}, time.UTC, false},
		{"-infinity", NullTime{Time: time.Date(-4713, 1, 1, 0, 0, 0, 0, time.UTC), Valid: true}, time.Time{}, time.UTC, false},
		{"far beyond", NullTime{Time: time.Unix(1<<62, 0), Valid: true}, time.Time{}, ny, false},
		{"far before", NullTime{Time: time.Unix(-1<<62, 0), Valid: true}, time.Time{}, ny, false},
		{"created_at infinity", NullTime{}, time.Date(294276, 1, 1, 0, 0, 0, 0, time.UTC), time.UTC, false},
		{"started_at decides, not created_at", nullTime(t, "2026-01-01T00:00:00Z"), time.Date(294276, 1, 1, 0, 0, 0, 0, time.UTC), time.UTC, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := SourceRun{ID: 7, ScriptID: 3, Status: "success", StartedAt: tc.started, CreatedAt: tc.created, Duration: nullFloat(1)}
			run, iss, ok := Normalize(src, tc.loc, DefaultLimits)
			if ok != tc.ok {
				t.Fatalf("ok = %v, want %v (day %s)", ok, tc.ok, run.Day)
			}
			if !ok {
				if iss != (Issues{RejectedDayOutOfRange: 1}) {
					t.Errorf("issues = %+v", iss)
				}
				if run.ID != 7 || run.ScriptID != 3 {
					t.Errorf("rejected run lost its ids: %+v", run)
				}
			} else if iss.RejectedDayOutOfRange != 0 {
				t.Errorf("issues = %+v", iss)
			}
		})
	}
}

func TestNormalizeTimestampsOutOfRange(t *testing.T) {
	// finished_at past 2299: stored NULL, but the duration comes from the
	// source values. 2026-01-01 .. 2300-01-01 is 274 years with 66 leap
	// days (2028..2296 is 68 multiples of 4, less 2100 and 2200):
	// (274*365 + 66) * 86400 = 100076 * 86400 = 8646566400 s.
	src := SourceRun{Status: "success", StartedAt: nullTime(t, "2026-01-01T00:00:00Z"),
		FinishedAt: nullTime(t, "2300-01-01T00:00:00Z")}
	run, iss, ok := Normalize(src, time.UTC, DefaultLimits)
	if !ok || run.FinishedAt.Valid || !run.StartedAt.Valid {
		t.Fatalf("ok %v, started %v, finished %v", ok, run.StartedAt, run.FinishedAt)
	}
	if run.Duration != nullFloat(8646566400) {
		t.Errorf("duration = %v, want 8646566400", run.Duration)
	}
	if iss != (Issues{TimestampOutOfRange: 1}) {
		t.Errorf("issues = %+v", iss)
	}

	// started_at before 1900 but its day (at +02) is 1900-01-01: the run
	// stays, started_at is NULL, the order is still the source's.
	src = SourceRun{Status: "failed", StartedAt: nullTime(t, "1899-12-31T23:00:00Z"),
		FinishedAt: nullTime(t, "1899-12-31T23:00:01.5Z"), CreatedAt: ts(t, "2026-01-01T00:00:00Z")}
	run, iss, ok = Normalize(src, time.FixedZone("+02", 7200), DefaultLimits)
	if !ok || run.StartedAt.Valid || run.FinishedAt.Valid || run.Day.String() != "1900-01-01" {
		t.Fatalf("ok %v, started %v, finished %v, day %s", ok, run.StartedAt, run.FinishedAt, run.Day)
	}
	if !run.OrderedAt.Equal(ts(t, "1899-12-31T23:00:00Z")) || run.Duration != nullFloat(1.5) {
		t.Errorf("OrderedAt %v, duration %v", run.OrderedAt, run.Duration)
	}
	if iss != (Issues{TimestampOutOfRange: 2}) {
		t.Errorf("issues = %+v", iss)
	}

	// The bounds themselves are storable; a microsecond beyond is not. The
	// upper one is the ClickHouse Go driver's (int64 nanoseconds since
	// 1970: 2262-04-11 23:47:16.854775807), not DateTime64's (2299).
	src = SourceRun{Status: "success", StartedAt: nullTime(t, "2262-04-11T23:47:16.854775Z"), Duration: nullFloat(1),
		FinishedAt: nullTime(t, "2262-04-11T23:47:16.854776Z")}
	run, iss, _ = Normalize(src, time.UTC, DefaultLimits)
	if !run.StartedAt.Valid || run.FinishedAt.Valid || iss.TimestampOutOfRange != 1 {
		t.Errorf("upper bound: started %v finished %v issues %+v", run.StartedAt, run.FinishedAt, iss)
	}
	// A run of the last day keeps its day; its times are NULL.
	src = SourceRun{Status: "success", StartedAt: nullTime(t, "2299-12-31T23:59:59.999999Z"), Duration: nullFloat(1),
		FinishedAt: nullTime(t, "2300-01-01T00:00:00Z")}
	run, iss, ok = Normalize(src, time.UTC, DefaultLimits)
	if !ok || run.Day.String() != "2299-12-31" || run.StartedAt.Valid || run.FinishedAt.Valid || iss.TimestampOutOfRange != 2 {
		t.Errorf("last day: ok %v day %s started %v finished %v issues %+v", ok, run.Day, run.StartedAt, run.FinishedAt, iss)
	}
	src = SourceRun{Status: "success", StartedAt: nullTime(t, "1900-01-01T00:00:00Z"), Duration: nullFloat(1)}
	run, iss, _ = Normalize(src, time.UTC, DefaultLimits)
	if !run.StartedAt.Valid || iss.TimestampOutOfRange != 0 {
		t.Errorf("lower bound: started %v issues %+v", run.StartedAt, iss)
	}
}

func TestNormalizeDuration(t *testing.T) {
	start := "2026-05-01T10:00:00Z"
	tests := []struct {
		name     string
		status   string
		duration NullFloat
		started  string // "" = NULL
		finished string
		want     NullFloat
		invalid  int64 // issues.InvalidDuration
	}{
		{"reported", "success", nullFloat(12.5), start, "2026-05-01T10:00:01Z", nullFloat(12.5), 0},
		{"zero", "success", nullFloat(0), "", "", nullFloat(0), 0},
		{"NaN, no fallback", "success", nullFloat(math.NaN()), start, "2026-05-01T10:00:01Z", NullFloat{}, 1},
		{"+Inf", "failed", nullFloat(math.Inf(1)), start, "2026-05-01T10:00:01Z", NullFloat{}, 1},
		{"-Inf", "failed", nullFloat(math.Inf(-1)), "", "", NullFloat{}, 1},
		{"negative", "timeout", nullFloat(-0.001), start, "2026-05-01T10:00:01Z", NullFloat{}, 1},
		{"from timestamps", "success", NullFloat{}, start, "2026-05-01T10:01:30.25Z", nullFloat(90.25), 0},
		{"microseconds", "success", NullFloat{}, "2026-05-01T10:00:00.000001Z", "2026-05-01T10:00:00.3Z", nullFloat(0.299999), 0},
		{"finished before started", "success", NullFloat{}, start, "2026-05-01T09:59:59Z", NullFloat{}, 1},
		{"equal timestamps", "success", NullFloat{}, start, start, nullFloat(0), 0},
		{"no finished_at", "cancelled", NullFloat{}, start, "", NullFloat{}, 1},
		{"no started_at", "other-status", NullFloat{}, "", "2026-05-01T10:00:01Z", NullFloat{}, 1},
		{"nothing", "success", NullFloat{}, "", "", NullFloat{}, 1},
		{"finished at +infinity", "success", NullFloat{}, start, "", NullFloat{}, 1},
		{"unfinished: not counted", "running", nullFloat(math.NaN()), start, "", NullFloat{}, 0},
		{"unfinished with a duration", "pending", nullFloat(3), "", "", nullFloat(3), 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := SourceRun{Status: tc.status, Duration: tc.duration, CreatedAt: ts(t, start)}
			if tc.started != "" {
				src.StartedAt = nullTime(t, tc.started)
			}
			if tc.finished != "" {
				src.FinishedAt = nullTime(t, tc.finished)
			}
			if tc.name == "finished at +infinity" {
				src.FinishedAt = NullTime{Time: time.Date(294276, 12, 31, 0, 0, 0, 0, time.UTC), Valid: true}
			}
			run, iss, ok := Normalize(src, time.UTC, DefaultLimits)
			if !ok {
				t.Fatal("rejected")
			}
			if run.Duration != tc.want {
				t.Errorf("Duration = %+v, want %+v", run.Duration, tc.want)
			}
			if iss.InvalidDuration != tc.invalid {
				t.Errorf("InvalidDuration = %d, want %d", iss.InvalidDuration, tc.invalid)
			}
			// ReportedDuration is the source's, NaN included.
			rd := run.ReportedDuration
			if rd.Valid != tc.duration.Valid || (rd.Float64 != tc.duration.Float64 && !(math.IsNaN(rd.Float64) && math.IsNaN(tc.duration.Float64))) {
				t.Errorf("ReportedDuration = %+v, want %+v", rd, tc.duration)
			}
		})
	}

	// -0 is stored as +0.
	run := mustNormalize(t, SourceRun{CreatedAt: created, Status: "success", Duration: nullFloat(math.Copysign(0, -1))})
	if !run.Duration.Valid || math.Signbit(run.Duration.Float64) {
		t.Errorf("-0: %+v", run.Duration)
	}
}

func TestNormalizeStatus(t *testing.T) {
	junk := strings.Repeat("x", 1024)
	tests := []struct {
		status string
		class  StatusClass
		other  int64
	}{
		{"pending", StatusUnfinished, 0},
		{"queued", StatusUnfinished, 0},
		{"running", StatusUnfinished, 0},
		{"success", StatusSuccess, 0},
		{"failed", StatusFailed, 0},
		{"timeout", StatusTimeout, 0},
		{"cancelled", StatusCancelled, 0},
		{"Success", StatusOther, 1},
		{"RUNNING", StatusOther, 1},
		{"success ", StatusOther, 1},
		{"canceled", StatusOther, 1},
		{"", StatusOther, 1},
		{"success\x00", StatusOther, 1},
		{junk, StatusOther, 1},
	}
	for _, tc := range tests {
		run, iss, _ := Normalize(SourceRun{CreatedAt: created, Status: tc.status, Duration: nullFloat(1)}, time.UTC, DefaultLimits)
		if run.Class != tc.class || iss.OtherStatus != tc.other {
			t.Errorf("%.20q: class %v other %d, want %v %d", tc.status, run.Class, iss.OtherStatus, tc.class, tc.other)
		}
	}
	// The 1 KB status is cut to 512 bytes: the marker for 1024 bytes is
	// 3+6+4+14 = 27 bytes, leaving 485 "x".
	run, iss, _ := Normalize(SourceRun{CreatedAt: created, Status: junk}, time.UTC, DefaultLimits)
	if want := strings.Repeat("x", 485) + "…[cut, 1024 bytes in all]"; run.Status != want {
		t.Errorf("status = %q", run.Status)
	}
	if iss.TextsCut != 1 {
		t.Errorf("TextsCut = %d", iss.TextsCut)
	}
	if got := StatusCancelled.String(); got != "cancelled" {
		t.Errorf("String() = %q", got)
	}
}

func TestNormalizeTexts(t *testing.T) {
	// Invalid UTF-8 and NUL in every text column: one repair each.
	src := SourceRun{
		CreatedAt:       created,
		Status:          "bad\xffstatus",
		FailedStepIndex: nullInt(2),
		FailedStepName:  nullStr("step\x00two"),
		ErrorMessage:    nullStr("boom \xc3"),
		Duration:        nullFloat(1),
	}
	run, iss, _ := Normalize(src, time.UTC, DefaultLimits)
	if run.Status != "bad\uFFFDstatus" || run.FailedStepName != nullStr("step\uFFFDtwo") ||
		run.ErrorMessage != nullStr("boom \uFFFD") {
		t.Errorf("texts: %q %q %q", run.Status, run.FailedStepName.String, run.ErrorMessage.String)
	}
	if iss != (Issues{OtherStatus: 1, InvalidUTF8: 3}) {
		t.Errorf("issues = %+v", iss)
	}
	// The fallback step carries the repaired name and the run's error.
	want := []Step{{Index: 2, Name: nullStr("step\uFFFDtwo"), Status: StepFailed, Error: nullStr("boom \uFFFD")}}
	if !stepsEqual(run.Steps, want) {
		t.Errorf("steps = %+v", run.Steps)
	}

	// A 10 MiB error message of "é" (and an invalid byte past the cut),
	// cut to 4096 bytes: 2032 "é" and the 31-byte marker.
	big := strings.Repeat("é", 5<<20) + "\xff"
	src = SourceRun{CreatedAt: created, Status: "failed", ErrorMessage: nullStr(big), ErrorMessageBytes: int64(len(big)), Duration: nullFloat(1)}
	run, iss, _ = Normalize(src, time.UTC, DefaultLimits)
	if want := strings.Repeat("é", 2032) + "…[cut, 10485761 bytes in all]"; run.ErrorMessage != nullStr(want) {
		t.Errorf("error_message: %d bytes, ends %q", len(run.ErrorMessage.String), run.ErrorMessage.String[len(run.ErrorMessage.String)-40:])
	}
	if iss != (Issues{TextsCut: 1}) {
		t.Errorf("issues = %+v", iss)
	}

	// The extract gave only a prefix: the marker states the source length.
	src = SourceRun{CreatedAt: created, Status: "failed", ErrorMessage: nullStr("abc"), ErrorMessageBytes: 10485760, Duration: nullFloat(1)}
	run, iss, _ = Normalize(src, time.UTC, DefaultLimits)
	if run.ErrorMessage != nullStr("abc…[cut, 10485760 bytes in all]") || iss != (Issues{TextsCut: 1}) {
		t.Errorf("prefix: %q %+v", run.ErrorMessage.String, iss)
	}

	// NULL texts stay NULL; an empty one stays empty.
	run, iss, _ = Normalize(SourceRun{CreatedAt: created, Status: "success", ErrorMessage: nullStr(""), Duration: nullFloat(1)}, time.UTC, DefaultLimits)
	if run.FailedStepName.Valid || run.ErrorMessage != nullStr("") || iss != (Issues{}) {
		t.Errorf("null/empty: %+v %+v %+v", run.FailedStepName, run.ErrorMessage, iss)
	}
}

func TestNormalizeCopiesFields(t *testing.T) {
	src := SourceRun{
		ID: 11, ScriptID: 22, Status: "success",
		StartedAt:       nullTime(t, "2026-05-01T10:00:00Z"),
		FinishedAt:      nullTime(t, "2026-05-01T10:00:02Z"),
		CreatedAt:       ts(t, "2026-05-01T09:59:00Z"),
		UpdatedAt:       ts(t, "2026-05-01T10:00:03Z"),
		FailedStepIndex: nullInt(4),
		FailedStepName:  nullStr("four"),
	}
	run := mustNormalize(t, src)
	if run.ID != 11 || run.ScriptID != 22 || run.Status != "success" || run.Class != StatusSuccess ||
		!run.CreatedAt.Equal(src.CreatedAt) || !run.UpdatedAt.Equal(src.UpdatedAt) ||
		run.StartedAt != src.StartedAt || run.FinishedAt != src.FinishedAt ||
		run.FailedStepIndex != nullInt(4) || run.FailedStepName != nullStr("four") ||
		run.Duration != nullFloat(2) || run.ReportedDuration.Valid ||
		run.Key() != (GroupKey{ScriptID: 22, Day: DayFromDate(2026, time.May, 1)}) {
		t.Errorf("run = %+v", run)
	}
}
