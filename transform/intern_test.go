package transform

import (
	"strings"
	"testing"
	"unsafe"
)

// stepsRun is a finished run whose steps text is steps.
func stepsRun(steps string) SourceRun {
	return SourceRun{ID: 1, Status: "success", CreatedAt: created, Duration: nullFloat(1), Steps: []byte(steps)}
}

// A Normalizer returns what Normalize returns, run after run, whatever it
// has kept: repairs and cuts are counted every time, and a text kept
// uncut under one limit is cut under a smaller one.
func TestNormalizerSameAsNormalize(t *testing.T) {
	lim := Limits{NameBytes: 8, ErrorBytes: 64}
	tests := []struct {
		name  string
		steps string
		want  []Step
		iss   Issues
	}{
		{"plain", `[{"index":0,"status":"success","name":"open"},{"index":1,"status":"failed","name":"open","error":"boom"}]`,
			[]Step{{Index: 0, Status: StepSuccess, Name: nullStr("open")}, {Index: 1, Status: StepFailed, Name: nullStr("open"), Error: nullStr("boom")}},
			Issues{}},
		// "abcdefghij" is kept as an error (10 bytes ≤ 64) first, then
		// must still be cut as a name (8 bytes).
		{"kept as an error", `[{"index":0,"status":"failed","name":"x","error":"abcdefghij"}]`,
			[]Step{{Index: 0, Status: StepFailed, Name: nullStr("x"), Error: nullStr("abcdefghij")}}, Issues{}},
		{"then cut as a name", `[{"index":0,"status":"success","name":"abcdefghij"}]`,
			[]Step{{Index: 0, Status: StepSuccess, Name: nullStr("abcde…")}}, Issues{TextsCut: 1}},
		{"invalid UTF-8, first", "[{\"index\":0,\"status\":\"success\",\"name\":\"a\xffb\"}]",
			[]Step{{Index: 0, Status: StepSuccess, Name: nullStr("a\uFFFDb")}}, Issues{InvalidUTF8: 1}},
		{"invalid UTF-8, again", "[{\"index\":0,\"status\":\"success\",\"name\":\"a\xffb\"}]",
			[]Step{{Index: 0, Status: StepSuccess, Name: nullStr("a\uFFFDb")}}, Issues{InvalidUTF8: 1}},
		{"escaped, same text", `[{"index":0,"status":"success","name":"op\u0065n"},{"index":1,"status":"success","name":7}]`,
			[]Step{{Index: 0, Status: StepSuccess, Name: nullStr("open")}, {Index: 1, Status: StepSuccess, Name: nullStr("7")}}, Issues{}},
		{"a number's text kept", `[{"index":0,"status":"success","name":7}]`,
			[]Step{{Index: 0, Status: StepSuccess, Name: nullStr("7")}}, Issues{}},
	}
	var n Normalizer
	for round := range 2 {
		for _, tc := range tests {
			run, iss, ok := n.Normalize(stepsRun(tc.steps), nil, lim)
			if !ok || !stepsEqual(run.Steps, tc.want) || iss != tc.iss {
				t.Errorf("round %d, %s: steps %+v issues %+v, want %+v %+v", round, tc.name, run.Steps, iss, tc.want, tc.iss)
			}
		}
	}
}

// Repeated texts share one string; texts past the bounds are not kept.
func TestNormalizerShares(t *testing.T) {
	var n Normalizer
	steps := `[{"index":0,"status":"failed","name":"open page","error":"timeout"}]`
	a, _, _ := n.Normalize(stepsRun(steps), nil, DefaultLimits)
	b, _, _ := n.Normalize(stepsRun(steps), nil, DefaultLimits)
	if unsafe.StringData(a.Steps[0].Name.String) != unsafe.StringData(b.Steps[0].Name.String) ||
		unsafe.StringData(a.Steps[0].Error.String) != unsafe.StringData(b.Steps[0].Error.String) {
		t.Error("the same name and error in two runs are two strings")
	}
	long := strings.Repeat("x", internMaxText+1)
	n.Normalize(stepsRun(`[{"index":0,"status":"success","name":"`+long+`"}]`), nil, Limits{NameBytes: 1 << 20, ErrorBytes: 1 << 20})
	if _, kept := n.texts.texts[long]; kept {
		t.Errorf("a %d-byte text was kept (bound %d)", len(long), internMaxText)
	}
	var full Normalizer
	full.texts.bytes = internMaxBytes - 3
	full.Normalize(stepsRun(`[{"index":0,"status":"success","name":"abcd"},{"index":1,"status":"success","name":"abc"}]`), nil, DefaultLimits)
	if _, kept := full.texts.texts["abcd"]; kept || full.texts.bytes != internMaxBytes {
		t.Errorf("past %d bytes: kept %v, %d bytes held", internMaxBytes, full.texts.texts, full.texts.bytes)
	}
}
