package transform

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
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

// parseDuration agrees with strconv.ParseFloat bit for bit (-0 included)
// on hand-picked and random valid JSON numbers.
func TestParseDuration(t *testing.T) {
	nums := []string{"0", "-0", "-0.0", "0.1", "2.433", "0.83", "30.001", "1e3", "1.5E-2", "-2.5e+1",
		"123456789012345", "1234567890123456", "0.000000000000000000001", "0.0000000000000000000001",
		"1.00000000000000000000001", "999999999999999.9", "0.30000000000000004", "9007199254740993",
		"1797693134862315708145274237317043567981e269", "1e400", "-1e400", "5e-324", "1e-400", "100000000000000000000000"}
	rng := rand.New(rand.NewPCG(9, 12))
	for range 200_000 {
		intDigits, fracDigits := rng.IntN(10), rng.IntN(12)
		var b strings.Builder
		if rng.IntN(4) == 0 {
			b.WriteByte('-')
		}
		b.WriteString(strconv.FormatUint(rng.Uint64N(pow10u(intDigits)), 10))
		if fracDigits > 0 {
			b.WriteByte('.')
			f := strconv.FormatUint(rng.Uint64N(pow10u(fracDigits)), 10)
			b.WriteString(strings.Repeat("0", fracDigits-len(f)) + f)
		}
		nums = append(nums, b.String())
	}
	for _, n := range nums {
		want, _ := strconv.ParseFloat(n, 64)
		if got := parseDuration([]byte(n)); math.Float64bits(got) != math.Float64bits(want) {
			t.Fatalf("parseDuration(%s) = %v (%x), strconv %v (%x)", n, got, math.Float64bits(got), want, math.Float64bits(want))
		}
	}
}

func pow10u(n int) uint64 {
	p := uint64(1)
	for range n {
		p *= 10
	}
	return p
}

// scanString accepts a string holding any one byte exactly when
// encoding/json does (bytes that are not UTF-8 aside: the scanner keeps
// them, to be repaired and counted), at every offset of its four-byte
// steps.
func TestScanStringEveryByte(t *testing.T) {
	for c := range 256 {
		for pad := range 5 {
			text := `"` + strings.Repeat("a", pad) + string([]byte{byte(c)}) + `"`
			end, _, ok := scanString([]byte(text), 0)
			ok = ok && end == len(text)
			want := json.Valid([]byte(text)) || c >= 0x80
			if ok != want {
				t.Errorf("%q: ok %v, want %v", text, ok, want)
			}
		}
	}
}

// Runs' steps from one block are apart: each slice's capacity is its
// length, so appending to one run's steps leaves the next run's alone; a
// run longer than a block's share gets its own slice.
func TestNormalizerStepsApart(t *testing.T) {
	var n Normalizer
	a, _, _ := n.Normalize(stepsRun(`[{"index":1,"status":"success"},{"index":2,"status":"failed"}]`), nil, DefaultLimits)
	b, _, _ := n.Normalize(stepsRun(`[{"index":3,"status":"skipped"}]`), nil, DefaultLimits)
	if cap(a.Steps) != 2 || cap(b.Steps) != 1 {
		t.Fatalf("capacities %d and %d, want 2 and 1", cap(a.Steps), cap(b.Steps))
	}
	_ = append(a.Steps, Step{Index: 99, Status: StepSuccess})
	if b.Steps[0].Index != 3 || b.Steps[0].Status != StepSkipped {
		t.Fatalf("the next run's step became %+v", b.Steps[0])
	}
	var long strings.Builder
	long.WriteByte('[')
	for i := range slabSteps/8 + 1 {
		if i > 0 {
			long.WriteByte(',')
		}
		fmt.Fprintf(&long, `{"index":%d,"status":"success"}`, i)
	}
	long.WriteByte(']')
	c, _, _ := n.Normalize(stepsRun(long.String()), nil, DefaultLimits)
	if len(c.Steps) != slabSteps/8+1 || c.Steps[slabSteps/8].Index != slabSteps/8 {
		t.Fatalf("long run: %d steps", len(c.Steps))
	}
	d, _, _ := n.Normalize(stepsRun(`[{"index":7,"status":"failed"}]`), nil, DefaultLimits)
	if d.Steps[0].Index != 7 || b.Steps[0].Index != 3 || a.Steps[1].Index != 2 {
		t.Fatalf("steps changed: %+v %+v %+v", a.Steps, b.Steps, d.Steps)
	}
}

// A script's runs in turn through one Normalizer: names that change at a
// position (same length, escaped, not a string, repaired, cut under a
// smaller limit, past the positions remembered) come out as Normalize
// makes them, with their issues; another script's names do not leak in.
func TestNormalizerNamesByPosition(t *testing.T) {
	wide := Limits{NameBytes: 64, ErrorBytes: 64}
	narrow := Limits{NameBytes: 8, ErrorBytes: 64}
	el := func(i int, name string) string {
		return fmt.Sprintf(`{"index":%d,"status":"success","name":%s}`, i, name)
	}
	arr := func(els ...string) string { return "[" + strings.Join(els, ",") + "]" }
	var many []string
	for i := range positionNames + 3 {
		many = append(many, el(i, fmt.Sprintf(`"n%d"`, i%2)))
	}
	runs := []struct {
		script int64
		lim    Limits
		steps  string
	}{
		{1, wide, arr(el(0, `"open"`), el(1, `"abcdefghij"`))},
		{1, wide, arr(el(0, `"open"`), el(1, `"abcdefghij"`))},
		{1, narrow, arr(el(0, `"open"`), el(1, `"abcdefghij"`))},
		{1, wide, arr(el(0, `"opem"`), el(1, `"abcdefghij"`))},
		{1, wide, arr(el(0, `"op\u0065n"`), el(1, `7`))},
		{1, wide, arr(el(0, `"7"`), el(1, `"a\u00e9"`))},
		{1, wide, arr(el(0, "\"op\xffn\""), el(1, `null`))},
		{1, wide, arr(el(0, `""`), el(1, `"x"`))},
		{2, wide, arr(el(0, `"other"`), el(1, `"x"`))},
		{1, wide, arr(many...)},
		{1, wide, arr(many[1:]...)},
	}
	var n Normalizer
	for k, r := range runs {
		src := stepsRun(r.steps)
		src.ScriptID = r.script
		got, gotIss, _ := n.Normalize(src, nil, r.lim)
		want, wantIss, _ := Normalize(src, nil, r.lim)
		if !stepsEqual(got.Steps, want.Steps) || gotIss != wantIss {
			t.Errorf("run %d: %+v %+v, Normalize %+v %+v", k, got.Steps, gotIss, want.Steps, wantIss)
		}
	}
	// By hand: the narrow run's second name is cut, the sixth run's first
	// name is the string "7" and its second "aé".
	src := stepsRun(runs[2].steps)
	src.ScriptID = 1
	got, iss, _ := n.Normalize(src, nil, narrow)
	if got.Steps[1].Name != nullStr("abcde…") || iss.TextsCut != 1 {
		t.Errorf("cut name: %+v, %+v", got.Steps[1].Name, iss)
	}
}
