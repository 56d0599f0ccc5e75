package demodata

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"
)

// Odd kinds: each odd run gets one, in turn, so that every kind shows up
// once the history has at least len(oddKinds) odd runs. Summary.Odd.Counts
// uses these names.
var oddKinds = []string{
	"status_empty", "status_unknown", "status_1kb",
	"started_finished_null", "finished_null",
	"duration_nan", "duration_pos_inf", "duration_neg_inf", "duration_negative", "duration_1e300",
	"finished_before_started", "timestamp_infinity", "timestamp_far",
	"steps_object", "steps_string", "steps_number", "steps_json_null", "steps_empty_array",
	"steps_non_objects", "step_without_index", "step_string_index", "step_fractional_index",
	"step_huge_index", "step_negative_index", "step_duplicate_index",
	"step_name_null", "step_name_empty", "step_name_long", "step_name_unicode",
	"step_status_invalid", "step_duration_odd",
	"long_error", "unicode_error", "missing_script", "failed_step_out_of_range",
}

// oddWantsSteps: kinds that edit the steps array need one; the last wants
// none (its failed_step_index is the run's only step data).
func oddWantsSteps(kind string) (want, force bool) {
	switch {
	case kind == "failed_step_out_of_range":
		return false, true
	case strings.HasPrefix(kind, "step"):
		return true, true
	}
	return false, false
}

var unknownStatuses = []string{"unknown", "errored", "SUCCESS", "passed", " success", "skipped", "done", "Failed"}

const unicodeText = "Fehler: Schaltfläche «Bezahlen» nicht gefunden 🚫 — 登录失败 — e\u0301 \u200d\u202eRTL\u202c\ttab\x01ctrl\r\nnew line \"quoted\" \\ backslash"

func longText(r *rand.Rand, n int) string {
	var sb strings.Builder
	sb.Grow(n + 128)
	sb.WriteString("Error: locator.click: Target page, context or browser has been closed\n")
	for sb.Len() < n {
		fmt.Fprintf(&sb, "    at Page.click (node_modules/playwright-core/lib/client/page.js:%d:%d)\n", 100+r.IntN(900), 1+r.IntN(80))
	}
	return sb.String()[:n]
}

// missingScriptID is a script id that has no scripts row (odd mode).
func missingScriptID(scripts int) int64 { return int64(scripts) + 1000 }

// applyOdd makes rn odd according to kind. b.els holds the steps when the
// run has them (written afterwards); it returns whether steps should be
// written from b.els (false when the kind replaced them by raw JSON).
func (b *builder) applyOdd(rn *run, kind string, scripts int, useEls bool) bool {
	r := b.r
	els := b.els
	pick := func() *stepEl { return &els[r.IntN(len(els))] }
	switch kind {
	case "status_empty":
		rn.status = ""
	case "status_unknown":
		rn.status = unknownStatuses[r.IntN(len(unknownStatuses))]
	case "status_1kb":
		rn.status = ("odd-status-" + strings.Repeat("x", 1024))[:1024]
	case "started_finished_null":
		rn.started, rn.finished = ts{}, ts{}
	case "finished_null":
		rn.finished = ts{}
	case "duration_nan":
		rn.duration, rn.hasDuration = math.NaN(), true
	case "duration_pos_inf":
		rn.duration, rn.hasDuration = math.Inf(1), true
	case "duration_neg_inf":
		rn.duration, rn.hasDuration = math.Inf(-1), true
	case "duration_negative":
		rn.duration, rn.hasDuration = -round3(1+10*r.Float64()), true
	case "duration_1e300":
		rn.duration, rn.hasDuration = 1e300, true
	case "finished_before_started":
		if rn.started.ok {
			rn.finished = some(addSec(rn.started.t, -1-3600*r.Float64()))
			rn.hasDuration = false
		}
	case "timestamp_infinity":
		if r.IntN(2) == 0 {
			rn.started = ts{ok: true, inf: 1}
		} else {
			rn.started = ts{ok: true, inf: -1}
			rn.finished = ts{ok: true, inf: 1}
		}
	case "timestamp_far":
		y := 1850
		if r.IntN(2) == 0 {
			y = 2400
		}
		t := time.Date(y, 6, 15, 12, 0, 0, 0, time.UTC)
		rn.started, rn.finished = some(t), some(t.Add(42*time.Second))
	case "steps_object":
		rn.steps = []byte(`{"index": 0, "name": "open login page", "status": "success", "duration": 1.25, "error": null}`)
		return false
	case "steps_string":
		rn.steps = []byte(`"open login page > fill credentials > submit"`)
		return false
	case "steps_number":
		rn.steps = []byte(`42`)
		return false
	case "steps_json_null":
		rn.steps = []byte(`null`)
		return false
	case "steps_empty_array":
		rn.steps = []byte(`[]`)
		return false
	case "steps_non_objects":
		rn.steps = []byte(`[0, "open login page", null, true, [1, 2], 3.5]`)
		return false
	case "step_without_index":
		pick().omitIndex = true
	case "step_string_index":
		e := pick()
		e.rawIndex = fmt.Sprintf("%q", fmt.Sprint(e.index))
	case "step_fractional_index":
		e := pick()
		e.rawIndex = fmt.Sprint(e.index) + ".5"
	case "step_huge_index":
		pick().rawIndex = "3000000000"
	case "step_negative_index":
		pick().rawIndex = "-1"
	case "step_duplicate_index":
		if len(els) > 1 {
			j := 1 + r.IntN(len(els)-1)
			els[j].index = els[j-1].index
		} else {
			b.els = append(b.els, els[0])
		}
	case "step_name_null":
		pick().rawName = "null"
	case "step_name_empty":
		pick().rawName = `""`
	case "step_name_long":
		pick().name = strings.Repeat("very long step name ", 120)
	case "step_name_unicode":
		pick().name = "öffne Startseite 🚀 – 登录 – \u202eRTL\u202c"
	case "step_status_invalid":
		bad := []string{`"passed"`, `""`, `null`, `"SUCCESS"`, `1`, `"running"`}
		pick().rawStatus = bad[r.IntN(len(bad))]
	case "step_duration_odd":
		bad := []string{`-1.5`, `1e300`, `"1.5"`, `null`, `0`}
		pick().rawDur = bad[r.IntN(len(bad))]
	case "long_error":
		rn.errMsg, rn.hasErr = longText(r, 2048+r.IntN(62*1024)), true
	case "unicode_error":
		rn.errMsg, rn.hasErr = unicodeText, true
	case "missing_script":
		rn.scriptID = missingScriptID(scripts)
	case "failed_step_out_of_range":
		idx := int32(99)
		if r.IntN(2) == 0 {
			idx = -1
		}
		rn.failedIdx, rn.hasFailedIdx = idx, true
		rn.failedName, rn.hasFailedName = "no such step", true
		rn.steps = nil
		return false
	}
	return useEls
}
