package transform

import (
	"bytes"
	"encoding/json"
	"math"
	"math/big"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzSteps compares the steps scanner with encoding/json on any input:
// the same validity, the same elements kept, the same indexes, statuses and
// texts. `go test` runs the seeds; `go test -fuzz FuzzSteps` explores.
func FuzzSteps(f *testing.F) {
	for _, seed := range []string{
		`[{"index":0,"name":"a","status":"success","duration":1.25,"error":null}]`,
		`[{"index":2.0,"status":"failed","error":{"a":[1,"x\"y"]}},{"index":"2","status":"success"}]`,
		`[{"\u0069ndex":1,"status":"sk\u0069pped","name":"\ud83d\ude00\ud800x\u0000"}]`,
		`[1, null, [], {"index":1e0,"status":"failed","index":2}]`,
		`[{"index":-0,"status":"success"},{"index":1e-400,"status":"success"}] `,
		`[01]`, `[{"index":-01,"status":"success"}]`, `[1.]`, `[.5]`, `[1e]`, `[-]`, `["\u12"]`, `["\u1`, `["\u123`, `["\x"]`, `[tru]`,
		`{"index":0}`, `[]`, `[{"index":0,`, `[1-2]`, `"x"`, `nul`, "[\"\x01\"]", "[{\"index\":0,\"status\":\"success\",\"name\":\"\xff\"}]",
	} {
		f.Add([]byte(seed))
	}
	big := Limits{ErrorBytes: 1 << 30, NameBytes: 1 << 30}
	var shared Normalizer // keeps texts across inputs, as a pass does
	f.Fuzz(func(t *testing.T, raw []byte) {
		run, iss, _ := Normalize(SourceRun{Status: "running", CreatedAt: created, Steps: raw}, nil, big)
		for range 2 { // the texts new, then kept
			r2, iss2, _ := shared.Normalize(SourceRun{Status: "running", CreatedAt: created, Steps: raw}, nil, big)
			if iss2 != iss || !stepsEqual(r2.Steps, run.Steps) {
				t.Fatalf("%q: Normalizer gives %+v %+v, Normalize %+v %+v", raw, r2.Steps, iss2, run.Steps, iss)
			}
		}
		want, wantIss := fuzzRef(raw)
		if iss.StepsNotArray != wantIss.StepsNotArray || iss.StepsEmptyArray != wantIss.StepsEmptyArray ||
			iss.InvalidStepElements != wantIss.InvalidStepElements || iss.DuplicateStepIndexes != wantIss.DuplicateStepIndexes {
			t.Fatalf("%q: issues %+v, reference %+v", raw, iss, wantIss)
		}
		if len(run.Steps) != len(want) {
			t.Fatalf("%q: %d steps, reference %d", raw, len(run.Steps), len(want))
		}
		for i, w := range want {
			g := run.Steps[i]
			if g.Index != w.Index || g.Status != w.Status ||
				(w.Name.String != "\x00skip" && g.Name != w.Name) || (w.Error.String != "\x00skip" && g.Error != w.Error) {
				t.Fatalf("%q: step %d = %+v, reference %+v", raw, i, g, w)
			}
			if g.Duration.Valid != w.Duration.Valid || (g.Duration.Float64 != w.Duration.Float64 && !math.IsNaN(w.Duration.Float64)) {
				t.Fatalf("%q: step %d duration %+v, reference %+v", raw, i, g.Duration, w.Duration)
			}
		}
	})
}

// fuzzRef parses steps with encoding/json per contract section 2. Names
// and errors that are objects or arrays are marked "\x00skip" (their jsonb
// formatting is tested by hand elsewhere).
func fuzzRef(raw []byte) ([]Step, Issues) {
	var iss Issues
	if !json.Valid(raw) {
		iss.StepsNotArray++
		return nil, iss
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		panic(err)
	}
	arr, ok := v.([]any)
	if !ok {
		iss.StepsNotArray++
		return nil, iss
	}
	if len(arr) == 0 {
		iss.StepsEmptyArray++
		return nil, iss
	}
	clean := func(s string) string { return strings.ReplaceAll(s, "\x00", "\uFFFD") }
	text := func(x any, present bool) NullString {
		if !present || x == nil {
			return NullString{}
		}
		switch x := x.(type) {
		case string:
			return nullStr(clean(x))
		case json.Number:
			return nullStr(x.String())
		case bool:
			return nullStr(strconv.FormatBool(x))
		}
		return nullStr("\x00skip")
	}
	var steps []Step
	for _, el := range arr {
		obj, ok := el.(map[string]any)
		if !ok {
			iss.InvalidStepElements++
			continue
		}
		num, isNum := obj["index"].(json.Number)
		status, _ := obj["status"].(string)
		var r big.Rat
		if !isNum || (status != StepSuccess && status != StepFailed && status != StepSkipped) {
			iss.InvalidStepElements++
			continue
		}
		if _, ok := r.SetString(num.String()); !ok || !r.IsInt() || !r.Num().IsInt64() ||
			r.Num().Int64() < math.MinInt32 || r.Num().Int64() > math.MaxInt32 {
			iss.InvalidStepElements++
			continue
		}
		name, hasName := obj["name"]
		e, hasErr := obj["error"]
		st := Step{Index: int32(r.Num().Int64()), Status: status, Name: text(name, hasName), Error: text(e, hasErr)}
		if d, ok := obj["duration"].(json.Number); ok {
			f, _ := strconv.ParseFloat(d.String(), 64)
			st.Duration = nullFloat(f)
		}
		for _, prev := range steps {
			if prev.Index == st.Index {
				iss.DuplicateStepIndexes++
				break
			}
		}
		steps = append(steps, st)
	}
	for _, s := range steps {
		if !utf8.ValidString(s.Name.String) || !utf8.ValidString(s.Error.String) {
			panic("encoding/json left invalid UTF-8")
		}
	}
	return steps, iss
}
