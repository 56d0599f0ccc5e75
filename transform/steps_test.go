package transform

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"
)

// stepsEqual compares steps field by field (NaN durations equal each other).
func stepsEqual(a, b []Step) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if x.Index != y.Index || x.Name != y.Name || x.Status != y.Status || x.Error != y.Error ||
			x.Duration.Valid != y.Duration.Valid {
			return false
		}
		if x.Duration.Float64 != y.Duration.Float64 && !(math.IsNaN(x.Duration.Float64) && math.IsNaN(y.Duration.Float64)) {
			return false
		}
	}
	return true
}

func TestSteps(t *testing.T) {
	runErr := nullStr("run error")
	fallback := []Step{{Index: 3, Name: nullStr("fallback name"), Status: StepFailed, Error: runErr}}
	ok := func(i int32, status string) Step { return Step{Index: i, Status: status} }
	failed := func(i int32) Step { return Step{Index: i, Status: StepFailed, Error: runErr} }
	tests := []struct {
		name  string
		steps string // "NULL" = SQL NULL
		want  []Step
		iss   Issues
	}{
		{"NULL: fallback", "NULL", fallback, Issues{}},
		{"object", `{"index":0,"status":"success"}`, fallback, Issues{StepsNotArray: 1}},
		{"string", `"steps"`, fallback, Issues{StepsNotArray: 1}},
		{"number", `42`, fallback, Issues{StepsNotArray: 1}},
		{"JSON null", `null`, fallback, Issues{StepsNotArray: 1}},
		{"empty array", `[]`, fallback, Issues{StepsEmptyArray: 1}},
		{"empty array, spaces", " [ ] ", fallback, Issues{StepsEmptyArray: 1}},
		{"invalid JSON", `[{"index":0,`, fallback, Issues{StepsNotArray: 1}},
		{"invalid number", `[1-2]`, fallback, Issues{StepsNotArray: 1}},
		{"NaN is not JSON", `[{"index":NaN,"status":"success"}]`, fallback, Issues{StepsNotArray: 1}},
		{"trailing garbage", `[{"index":0,"status":"success"}] x`, fallback, Issues{StepsNotArray: 1}},
		{"empty text", ``, fallback, Issues{StepsNotArray: 1}},
		{"leading zero", `[{"index":01,"status":"success"}]`, fallback, Issues{StepsNotArray: 1}},
		{"control character in a string", "[{\"index\":0,\"status\":\"success\",\"name\":\"a\x01\"}]", fallback, Issues{StepsNotArray: 1}},
		{"bad escape", `[{"index":0,"status":"success","name":"\x"}]`, fallback, Issues{StepsNotArray: 1}},
		{"short \\u escape", `[{"index":0,"status":"success","name":"\u12"}]`, fallback, Issues{StepsNotArray: 1}},
		{"cut inside a \\u escape", `[{"index":0,"status":"success","name":"\u123`, fallback, Issues{StepsNotArray: 1}},
		{"trailing comma", `[{"index":0,"status":"success"},]`, fallback, Issues{StepsNotArray: 1}},
		{"missing comma", `[{"index":0,"status":"success"} {"index":1,"status":"success"}]`, fallback, Issues{StepsNotArray: 1}},
		{"unclosed", `[{"index":0,"status":"success"}`, fallback, Issues{StepsNotArray: 1}},
		// Any depth is fine (jsonb takes ~14,500 levels at PostgreSQL's
		// default stack): a limit of 1000 once turned such a valid array
		// into no array at all. Deep but unclosed is invalid.
		{"deep is fine", "[" + strings.Repeat("[", 200000) + strings.Repeat("]", 200000) + "]", nil, Issues{InvalidStepElements: 1}},
		{"deep junk beside a step", `[{"index": 4, "status": "success", "junk": ` + strings.Repeat(`[{"a": `, 5000) + "1" +
			strings.Repeat("}]", 5000) + `, "name": ` + strings.Repeat("[", 3) + `{"k":  "v" , "l":[1 ,2]}` + strings.Repeat("]", 3) + `}]`,
			[]Step{{Index: 4, Name: nullStr(`[[[{"k": "v", "l": [1, 2]}]]]`), Status: StepSuccess}}, Issues{}},
		{"deep and unclosed", "[" + strings.Repeat("[", 5000) + strings.Repeat("]", 4999) + "]", fallback, Issues{StepsNotArray: 1}},
		{"deep with a missing comma", "[" + strings.Repeat(`{"a": [1 2]}`, 1) + "]", fallback, Issues{StepsNotArray: 1}},
		{"deep with a bad key", `[[{"a": {1: 2}}]]`, fallback, Issues{StepsNotArray: 1}},
		{"deep with a trailing comma", `[[{"a": [1, ]}]]`, fallback, Issues{StepsNotArray: 1}},
		{"deep with a missing colon", `[[{"a" 1}]]`, fallback, Issues{StepsNotArray: 1}},
		{"deep with a mismatched bracket", `[[{"a": [1}]]]`, fallback, Issues{StepsNotArray: 1}},
		// A non-empty array decides, even when nothing in it is valid.
		{"array of non-objects", `[1, "a", null, [], true]`, nil, Issues{InvalidStepElements: 5}},
		{"valid", `[{"index": 0, "name": "open login page", "status": "success", "duration": 1.25, "error": null}]`,
			[]Step{{Index: 0, Name: nullStr("open login page"), Status: StepSuccess, Duration: nullFloat(1.25)}}, Issues{}},
		{"missing index", `[{"status":"success"}]`, nil, Issues{InvalidStepElements: 1}},
		{"null index", `[{"index":null,"status":"success"}]`, nil, Issues{InvalidStepElements: 1}},
		{"string index", `[{"index":"2","status":"success"}]`, nil, Issues{InvalidStepElements: 1}},
		{"fractional index", `[{"index":2.5,"status":"success"}]`, nil, Issues{InvalidStepElements: 1}},
		{"almost 2", `[{"index":2.0000000000000001,"status":"success"}]`, nil, Issues{InvalidStepElements: 1}},
		{"tiny", `[{"index":1e-400,"status":"success"}]`, nil, Issues{InvalidStepElements: 1}},
		{"2.0 is 2", `[{"index":2.0,"status":"success"}]`, []Step{ok(2, StepSuccess)}, Issues{}},
		{"2e0, 20e-1, 0.2E+1, 2.000", `[{"index":2e0,"status":"success"},{"index":20e-1,"status":"success"},{"index":0.2E+1,"status":"success"},{"index":2.000,"status":"success"}]`,
			[]Step{ok(2, StepSuccess), ok(2, StepSuccess), ok(2, StepSuccess), ok(2, StepSuccess)}, Issues{DuplicateStepIndexes: 3}},
		{"zeros", `[{"index":-0,"status":"success"},{"index":0e99999999999999999999,"status":"skipped"}]`,
			[]Step{ok(0, StepSuccess), ok(0, StepSkipped)}, Issues{DuplicateStepIndexes: 1}},
		{"int32 bounds", `[{"index":2147483647,"status":"success"},{"index":-2147483648,"status":"success"},{"index":2147483648,"status":"success"},{"index":-2147483649,"status":"success"},{"index":1e10,"status":"success"},{"index":1e999999999999999,"status":"success"}]`,
			[]Step{ok(math.MaxInt32, StepSuccess), ok(math.MinInt32, StepSuccess)}, Issues{InvalidStepElements: 4}},
		{"long zeros", `[{"index":100000000000000000000e-20,"status":"success"},{"index":0.00000000000000000000000007e26,"status":"success"}]`,
			[]Step{ok(1, StepSuccess), ok(7, StepSuccess)}, Issues{}},
		{"bad status", `[{"index":0,"status":"SUCCESS"},{"index":1,"status":"done"},{"index":2},{"index":3,"status":1},{"index":4,"status":null},{"index":5,"status":"skipped"}]`,
			[]Step{ok(5, StepSkipped)}, Issues{InvalidStepElements: 5}},
		{"duplicate indexes kept in order", `[{"index":0,"status":"success"},{"index":0,"status":"failed"},{"index":1,"status":"success"},{"index":0,"status":"skipped"}]`,
			[]Step{ok(0, StepSuccess), failed(0), ok(1, StepSuccess), ok(0, StepSkipped)}, Issues{DuplicateStepIndexes: 2}},
		{"invalid elements do not count as duplicates", `[{"index":0,"status":"success"},{"index":0,"status":"bad"}]`,
			[]Step{ok(0, StepSuccess)}, Issues{InvalidStepElements: 1}},
		{"repeated key: last wins", `[{"index":0,"index":1,"status":"bad","status":"success"}]`,
			[]Step{ok(1, StepSuccess)}, Issues{}},
		{"names", `[{"index":0,"status":"success","name":7},{"index":1,"status":"success","name":{"a":[1,2.50,"x\"y"],"b":true}},{"index":2,"status":"success","name":null},{"index":3,"status":"success","name":"caf\u00e9\n\t"},{"index":4,"status":"success","name":false}]`,
			[]Step{
				{Index: 0, Name: nullStr("7"), Status: StepSuccess},
				{Index: 1, Name: nullStr(`{"a": [1, 2.50, "x\"y"], "b": true}`), Status: StepSuccess},
				{Index: 2, Status: StepSuccess},
				{Index: 3, Name: nullStr("café\n\t"), Status: StepSuccess},
				{Index: 4, Name: nullStr("false"), Status: StepSuccess},
			}, Issues{DuplicateStepIndexes: 0}},
		{"errors", `[{"index":0,"status":"failed","error":"own"},{"index":1,"status":"failed","error":null},{"index":2,"status":"failed"},{"index":3,"status":"success","error":null},{"index":4,"status":"success","error":"kept"},{"index":5,"status":"failed","error":{"code":42,"msg":"a\nb"}},{"index":6,"status":"skipped"}]`,
			[]Step{
				{Index: 0, Status: StepFailed, Error: nullStr("own")},
				failed(1), failed(2),
				ok(3, StepSuccess),
				{Index: 4, Status: StepSuccess, Error: nullStr("kept")},
				{Index: 5, Status: StepFailed, Error: nullStr(`{"code": 42, "msg": "a\nb"}`)},
				ok(6, StepSkipped),
			}, Issues{}},
		{"durations", `[{"index":0,"status":"success","duration":"1.25"},{"index":1,"status":"success","duration":-3},{"index":2,"status":"success","duration":1e400},{"index":3,"status":"success","duration":0.1},{"index":4,"status":"success","duration":null},{"index":5,"status":"success","duration":[1]}]`,
			[]Step{ok(0, StepSuccess), {Index: 1, Status: StepSuccess, Duration: nullFloat(-3)},
				{Index: 2, Status: StepSuccess, Duration: nullFloat(math.Inf(1))},
				{Index: 3, Status: StepSuccess, Duration: nullFloat(0.1)}, ok(4, StepSuccess), ok(5, StepSuccess)}, Issues{}},
		{"invalid UTF-8 in strings", "[{\"index\":0,\"status\":\"failed\",\"name\":\"a\xffb\",\"error\":\"\\u0000x\"}]",
			[]Step{{Index: 0, Name: nullStr("a\uFFFDb"), Status: StepFailed, Error: nullStr("\uFFFDx")}}, Issues{InvalidUTF8: 2}},
		{"cut name", `[{"index":0,"status":"success","name":"` + strings.Repeat("n", 600) + `"}]`,
			// marker for 600 bytes: 3+6+3+14 = 26, leaving 486 of 512.
			[]Step{{Index: 0, Name: nullStr(strings.Repeat("n", 486) + "…[cut, 600 bytes in all]"), Status: StepSuccess}}, Issues{TextsCut: 1}},
		{"whitespace", " \n[ { \"status\" : \"skipped\" , \"index\" : 1 } ]\n", []Step{ok(1, StepSkipped)}, Issues{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := SourceRun{CreatedAt: created, Status: "running", FailedStepIndex: nullInt(3), FailedStepName: nullStr("fallback name"),
				ErrorMessage: runErr}
			if tc.steps != "NULL" {
				src.Steps = []byte(tc.steps)
			}
			run, iss, _ := Normalize(src, time.UTC, DefaultLimits)
			if !stepsEqual(run.Steps, tc.want) {
				t.Errorf("steps =\n%+v\nwant\n%+v", run.Steps, tc.want)
			}
			if iss != tc.iss {
				t.Errorf("issues = %+v, want %+v", iss, tc.iss)
			}
		})
	}

	// No failed_step_index and no usable steps: no steps.
	run, _, _ := Normalize(SourceRun{CreatedAt: created, Status: "failed", Steps: []byte(`[]`), FailedStepName: nullStr("x")}, time.UTC, DefaultLimits)
	if run.Steps != nil {
		t.Errorf("steps = %+v", run.Steps)
	}
	// A failed step falls back to a NULL run error: NULL.
	run, _, _ = Normalize(SourceRun{CreatedAt: created, Status: "failed", Steps: []byte(`[{"index":0,"status":"failed"}]`)}, time.UTC, DefaultLimits)
	if len(run.Steps) != 1 || run.Steps[0].Error.Valid {
		t.Errorf("steps = %+v", run.Steps)
	}
}

func TestStepsLongError(t *testing.T) {
	// A 10 MiB step error is cut like error_message: 4096 bytes with the
	// marker for 10485760 bytes (31 bytes): 4065 "e".
	raw := `[{"index":0,"status":"failed","error":"` + strings.Repeat("e", 10<<20) + `"}]`
	run, iss, _ := Normalize(SourceRun{CreatedAt: created, Status: "failed", Steps: []byte(raw)}, time.UTC, DefaultLimits)
	want := strings.Repeat("e", 4065) + "…[cut, 10485760 bytes in all]"
	if len(run.Steps) != 1 || run.Steps[0].Error != nullStr(want) || iss.TextsCut != 1 {
		t.Fatalf("steps %d, issues %+v", len(run.Steps), iss)
	}
}

func TestSteps100k(t *testing.T) {
	const n = 100_000
	var b strings.Builder
	b.WriteByte('[')
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		status := StepSuccess
		if i%1000 == 999 {
			status = StepFailed
		}
		fmt.Fprintf(&b, `{"index": %d, "name": "step %d", "status": "%s", "duration": %d.5, "error": null}`, i, i, status, i)
	}
	b.WriteString(`, {"index": 5, "status": "skipped"}]`) // one duplicate
	src := SourceRun{ID: 1, CreatedAt: created, Status: "failed", Steps: []byte(b.String()), ErrorMessage: nullStr("e"), Duration: nullFloat(1)}
	run, iss, ok := Normalize(src, time.UTC, DefaultLimits)
	if !ok || len(run.Steps) != n+1 || iss != (Issues{DuplicateStepIndexes: 1}) {
		t.Fatalf("ok %v, %d steps, issues %+v", ok, len(run.Steps), iss)
	}
	for _, i := range []int{0, 1, 999, 50_000, n - 1} {
		st := run.Steps[i]
		wantStatus, wantErr := StepSuccess, NullString{}
		if i%1000 == 999 {
			wantStatus, wantErr = StepFailed, nullStr("e")
		}
		if st.Index != int32(i) || st.Name != nullStr("step "+strconv.Itoa(i)) || st.Status != wantStatus ||
			st.Duration != nullFloat(float64(i)+0.5) || st.Error != wantErr {
			t.Errorf("step %d = %+v", i, st)
		}
	}
	day, hasDay, steps := Aggregate([]Run{run})
	if !hasDay || day.Total != 1 || len(steps) != n || steps[999].Failures != 1 || steps[998].Failures != 0 {
		t.Fatalf("aggregate: %v %+v %d", hasDay, day, len(steps))
	}
}

func TestParseIntegral(t *testing.T) {
	tests := []struct {
		num  string
		want int32
		ok   bool
	}{
		{"0", 0, true}, {"-0", 0, true}, {"0.0", 0, true}, {"7", 7, true}, {"-7", -7, true},
		{"1.5", 0, false}, {"15e-1", 0, false}, {"150e-2", 0, false}, {"1500e-3", 0, false},
		{"1500e-2", 15, true}, {"0.15e2", 15, true}, {"1.23456789e8", 123456789, true},
		{"1.234567891e8", 0, false}, {"2147483647", math.MaxInt32, true}, {"2147483648", 0, false},
		{"-2147483648", math.MinInt32, true}, {"9999999999", 0, false}, {"12345678901234567890", 0, false},
		{"1e9", 1000000000, true}, {"3e9", 0, false}, {"0.000000000000000000001e21", 1, true},
		{"10000000000000000000000000000e-28", 1, true}, {"10000000000000000000000000001e-28", 0, false},
	}
	for _, tc := range tests {
		got, ok := parseIntegral([]byte(tc.num))
		if got != tc.want || ok != tc.ok {
			t.Errorf("parseIntegral(%s) = %d, %v; want %d, %v", tc.num, got, ok, tc.want, tc.ok)
		}
	}
}
