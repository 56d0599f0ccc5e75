package transform

// A property test: random task_log rows go through Normalize and Aggregate,
// and every number is compared with a deliberately naive reference written
// from the contract's definitions alone (encoding/json for steps, math/big
// for averages, percentiles by counting). Nothing here calls the
// implementation's helpers.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

var propZones = []string{"UTC", "America/New_York", "Europe/London", "Australia/Lord_Howe",
	"Asia/Kathmandu", "Pacific/Chatham", "America/Santiago", "Europe/Berlin"}

// Days around DST changes in several zones, at 00:00 UTC.
var propAnchors = []string{"2026-03-08", "2026-11-01", "2026-03-29", "2026-10-25", "2026-04-05",
	"2026-10-04", "2026-09-27", "2026-06-15"}

var propStatuses = []string{"pending", "queued", "running", "success", "success", "success", "failed", "failed",
	"timeout", "cancelled", "Success", "", "weird", "FAILED"}

var propNames = []string{"open login page", "submit form", "étape 2", "登录", "check", "a \"quoted\" name"}

var propErrors = []string{"timeout waiting for selector", "element not found", "HTTP 500", "ошибка"}

func genTime(rng *rand.Rand, anchor time.Time) time.Time {
	off := time.Duration(rng.IntN(4*72)-4*36) * 15 * time.Minute // coarse: ties happen
	if rng.IntN(3) == 0 {
		off += time.Duration(rng.Int64N(int64(15*time.Minute)/1000)) * time.Microsecond
	}
	return anchor.Add(off)
}

func genDuration(rng *rand.Rand) NullFloat {
	switch rng.IntN(14) {
	case 0, 1, 2, 3, 4:
		return NullFloat{}
	case 5:
		return nullFloat(math.NaN())
	case 6:
		return nullFloat(math.Inf(1 - 2*rng.IntN(2)))
	case 7:
		return nullFloat(-rng.Float64() * 10)
	case 8:
		return nullFloat(0)
	case 9:
		return nullFloat(float64(rng.IntN(5))) // ties
	case 10:
		if rng.IntN(4) == 0 {
			return nullFloat(1.7e308) // sums overflow
		}
		return nullFloat(rng.Float64() * 1e6)
	default:
		return nullFloat(rng.Float64() * 1000)
	}
}

// genSteps returns a random task_log.steps text (nil for NULL).
func genSteps(rng *rand.Rand) []byte {
	switch rng.IntN(12) {
	case 0, 1, 2:
		return nil
	case 3:
		return []byte(`{"index":0,"status":"failed"}`)
	case 4:
		return []byte(`[]`)
	case 5:
		return []byte(`[{"index":0,`) // invalid JSON
	case 6:
		return []byte(`"text"`)
	}
	var b strings.Builder
	b.WriteByte('[')
	n := 1 + rng.IntN(8)
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		if rng.IntN(15) == 0 {
			b.WriteString([]string{`1`, `"x"`, `null`, `[1]`}[rng.IntN(4)])
			continue
		}
		var fields []string
		idx := rng.IntN(7)
		switch rng.IntN(20) {
		case 0:
			fields = append(fields, fmt.Sprintf(`"index": "%d"`, idx))
		case 1:
			fields = append(fields, fmt.Sprintf(`"index": %d.5`, idx))
		case 2:
			fields = append(fields, fmt.Sprintf(`"index": %d.0`, idx))
		case 3:
			fields = append(fields, fmt.Sprintf(`"index": %de0`, idx))
		case 4: // no index
		default:
			fields = append(fields, fmt.Sprintf(`"index": %d`, idx))
		}
		switch rng.IntN(20) {
		case 0:
			fields = append(fields, `"status": "SUCCESS"`)
		case 1: // no status
		default:
			fields = append(fields, fmt.Sprintf(`"status": %q`, []string{StepSuccess, StepSuccess, StepFailed, StepSkipped}[rng.IntN(4)]))
		}
		switch rng.IntN(6) {
		case 0: // no name
		case 1:
			fields = append(fields, `"name": null`)
		case 2:
			fields = append(fields, `"name": 42`)
		default:
			name, _ := json.Marshal(propNames[rng.IntN(len(propNames))])
			fields = append(fields, `"name": `+string(name))
		}
		switch rng.IntN(4) {
		case 0: // no error
		case 1:
			fields = append(fields, `"error": null`)
		default:
			fields = append(fields, fmt.Sprintf(`"error": %q`, propErrors[rng.IntN(len(propErrors))]))
		}
		if rng.IntN(2) == 0 {
			fields = append(fields, fmt.Sprintf(`"duration": %.3f`, rng.Float64()*10))
		}
		rng.Shuffle(len(fields), func(i, j int) { fields[i], fields[j] = fields[j], fields[i] })
		b.WriteString("{" + strings.Join(fields, ", ") + "}")
	}
	b.WriteByte(']')
	return []byte(b.String())
}

func genSource(rng *rand.Rand, id int64, anchor time.Time) SourceRun {
	src := SourceRun{ID: id, ScriptID: 1 + rng.Int64N(3), Status: propStatuses[rng.IntN(len(propStatuses))]}
	src.CreatedAt = genTime(rng, anchor)
	src.UpdatedAt = src.CreatedAt.Add(time.Hour)
	if rng.IntN(7) != 0 {
		src.StartedAt = NullTime{Time: genTime(rng, anchor), Valid: true}
	}
	if rng.IntN(100) == 0 {
		src.StartedAt = NullTime{Time: time.Date(294276, 1, 1, 0, 0, 0, 0, time.UTC), Valid: true} // infinity
	}
	if rng.IntN(5) != 0 {
		base := src.CreatedAt
		if src.StartedAt.Valid && rng.IntN(10) != 0 {
			base = src.StartedAt.Time
		}
		src.FinishedAt = NullTime{Time: base.Add(time.Duration(rng.Int64N(3600e6)-10e6) * time.Microsecond), Valid: true}
		if rng.IntN(4) == 0 {
			src.FinishedAt.Time = base // ties of failure times
		}
	}
	src.Duration = genDuration(rng)
	if rng.IntN(2) == 0 {
		src.FailedStepIndex = nullInt(int32(rng.IntN(6)))
		if rng.IntN(3) != 0 {
			src.FailedStepName = nullStr(propNames[rng.IntN(len(propNames))])
		}
	}
	if rng.IntN(2) == 0 {
		src.ErrorMessage = nullStr(propErrors[rng.IntN(len(propErrors))])
		src.ErrorMessageBytes = int64(len(src.ErrorMessage.String))
	}
	src.Steps = genSteps(rng)
	return src
}

// ---- the reference ----

type refStep struct {
	index  int32
	name   *string
	status string
	err    *string
}

type refRun struct {
	src     SourceRun
	day     string
	class   string // "" = not counted
	dur     float64
	durOK   bool
	ordered time.Time
	steps   []refStep
}

type refIssues struct {
	rejected, invalidDuration, otherStatus, notArray, emptyArray, invalidElements, duplicates int64
}

var refClasses = map[string]string{"success": "success", "failed": "failed", "timeout": "timeout", "cancelled": "cancelled",
	"pending": "", "queued": "", "running": ""}

// refSteps parses steps per contract section 2 with encoding/json.
func refSteps(src SourceRun, iss *refIssues) []refStep {
	fallback := func() []refStep {
		if !src.FailedStepIndex.Valid {
			return nil
		}
		st := refStep{index: src.FailedStepIndex.Int32, status: "failed"}
		if src.FailedStepName.Valid {
			st.name = &src.FailedStepName.String
		}
		if src.ErrorMessage.Valid {
			st.err = &src.ErrorMessage.String
		}
		return []refStep{st}
	}
	if src.Steps == nil {
		return fallback()
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(src.Steps))
	dec.UseNumber()
	if !json.Valid(src.Steps) || dec.Decode(&v) != nil {
		iss.notArray++
		return fallback()
	}
	arr, isArr := v.([]any)
	if !isArr {
		iss.notArray++
		return fallback()
	}
	if len(arr) == 0 {
		iss.emptyArray++
		return fallback()
	}
	text := func(x any, present bool) *string {
		if !present || x == nil {
			return nil
		}
		var s string
		switch x := x.(type) {
		case string:
			s = x
		case json.Number:
			s = x.String()
		case bool:
			s = strconv.FormatBool(x)
		default:
			panic(fmt.Sprintf("generator made %T", x))
		}
		return &s
	}
	var steps []refStep
	for _, el := range arr {
		obj, isObj := el.(map[string]any)
		if !isObj {
			iss.invalidElements++
			continue
		}
		num, isNum := obj["index"].(json.Number)
		status, _ := obj["status"].(string)
		var r big.Rat
		if !isNum || (status != "success" && status != "failed" && status != "skipped") {
			iss.invalidElements++
			continue
		}
		if _, okRat := r.SetString(num.String()); !okRat || !r.IsInt() || !r.Num().IsInt64() ||
			r.Num().Int64() < math.MinInt32 || r.Num().Int64() > math.MaxInt32 {
			iss.invalidElements++
			continue
		}
		name, hasName := obj["name"]
		e, hasErr := obj["error"]
		st := refStep{index: int32(r.Num().Int64()), status: status, name: text(name, hasName), err: text(e, hasErr)}
		if st.err == nil && status == "failed" && src.ErrorMessage.Valid {
			st.err = &src.ErrorMessage.String
		}
		for _, prev := range steps {
			if prev.index == st.index {
				iss.duplicates++
				break
			}
		}
		steps = append(steps, st)
	}
	return steps
}

func refNormalize(src SourceRun, loc *time.Location, iss *refIssues) (refRun, bool) {
	r := refRun{src: src, ordered: src.CreatedAt}
	if src.StartedAt.Valid {
		r.ordered = src.StartedAt.Time
	}
	if y := r.ordered.In(loc).Year(); y < 1900 || y > 2299 {
		iss.rejected++
		return r, false
	}
	r.day = r.ordered.In(loc).Format("2006-01-02")
	class, known := refClasses[src.Status]
	if !known {
		class = "other"
		iss.otherStatus++
	}
	r.class = class
	switch {
	case src.Duration.Valid:
		r.dur = src.Duration.Float64
		r.durOK = true
	case src.StartedAt.Valid && src.FinishedAt.Valid:
		// Exactly (finished − started) seconds, then the nearest float64.
		q := new(big.Rat).SetFrac(big.NewInt(src.FinishedAt.Time.UnixNano()-src.StartedAt.Time.UnixNano()), big.NewInt(1e9))
		r.dur, _ = q.Float64()
		r.durOK = true
	}
	if r.durOK && (math.IsNaN(r.dur) || math.IsInf(r.dur, 0) || r.dur < 0) {
		r.durOK = false
	}
	if !r.durOK && class != "" {
		iss.invalidDuration++
	}
	r.steps = refSteps(src, iss)
	return r, true
}

// refPercentile is the definition itself: the smallest value d such that
// at least p% of the values are ≤ d.
func refPercentile(vals []float64, p int) float64 {
	best := math.Inf(1)
	for _, d := range vals {
		le := 0
		for _, v := range vals {
			if v <= d {
				le++
			}
		}
		if le*100 >= p*len(vals) && d < best {
			best = d
		}
	}
	return best
}

func refMean(vals []float64) float64 {
	sum := new(big.Float).SetPrec(4096)
	for _, v := range vals {
		sum.Add(sum, new(big.Float).SetFloat64(v))
	}
	sum.Quo(sum, new(big.Float).SetInt64(int64(len(vals))))
	f, _ := sum.Float64()
	return f
}

type refStat struct {
	n                                 int
	avg, min, max, p50, p90, p95, p99 float64
}

func refStats(vals []float64) refStat {
	s := refStat{n: len(vals)}
	if len(vals) == 0 {
		return s
	}
	s.min, s.max = math.Inf(1), math.Inf(-1)
	for _, v := range vals {
		s.min = math.Min(s.min, v)
		s.max = math.Max(s.max, v)
	}
	s.avg = refMean(vals)
	s.p50, s.p90, s.p95, s.p99 = refPercentile(vals, 50), refPercentile(vals, 90), refPercentile(vals, 95), refPercentile(vals, 99)
	return s
}

type refStepRow struct {
	attempts, failures int
	name               *string
	nameBy             [3]int64 // ordered (ns), run id, position
	failAt             time.Time
	failBy             [2]int64 // run id, position
	failErr            *string
	hasFail            bool
	hasName            bool
}

func refFailTime(src SourceRun) time.Time {
	if src.FinishedAt.Valid {
		return src.FinishedAt.Time
	}
	if src.StartedAt.Valid {
		return src.StartedAt.Time
	}
	return src.CreatedAt
}

func refStepRows(runs []refRun) map[int32]*refStepRow {
	rows := map[int32]*refStepRow{}
	for _, r := range runs {
		if r.class == "" {
			continue
		}
		for pos, st := range r.steps {
			if st.status == "skipped" {
				continue
			}
			row := rows[st.index]
			if row == nil {
				row = &refStepRow{}
				rows[st.index] = row
			}
			row.attempts++
			if st.name != nil {
				by := [3]int64{r.ordered.UnixNano(), r.src.ID, int64(pos)}
				if !row.hasName || by[0] > row.nameBy[0] ||
					(by[0] == row.nameBy[0] && (by[1] > row.nameBy[1] || (by[1] == row.nameBy[1] && by[2] > row.nameBy[2]))) {
					row.hasName, row.name, row.nameBy = true, st.name, by
				}
			}
			if st.status == "failed" {
				row.failures++
				at := refFailTime(r.src)
				by := [2]int64{r.src.ID, int64(pos)}
				if !row.hasFail || at.After(row.failAt) ||
					(at.Equal(row.failAt) && (by[0] > row.failBy[0] || (by[0] == row.failBy[0] && by[1] > row.failBy[1]))) {
					row.hasFail, row.failAt, row.failBy, row.failErr = true, at, by, st.err
				}
			}
		}
	}
	return rows
}

func closeTo(got NullFloat, want float64, n int) bool {
	if n == 0 {
		return !got.Valid
	}
	if !got.Valid {
		return false
	}
	if got.Float64 == want {
		return true
	}
	return math.Abs(got.Float64-want) <= 1e-9*math.Abs(want)
}

func exact(got NullFloat, want float64, n int) bool {
	if n == 0 {
		return !got.Valid
	}
	return got.Valid && got.Float64 == want
}

func nullStrOf(p *string) NullString {
	if p == nil {
		return NullString{}
	}
	return nullStr(*p)
}

func TestAggregateProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(20260308, 20261101))
	locs := make([]*time.Location, len(propZones))
	for i, z := range propZones {
		locs[i] = mustLoc(t, z)
	}
	const batches = 1500
	groups, rowsChecked := 0, 0
	var agg Aggregator
	for batch := range batches {
		loc := locs[rng.IntN(len(locs))]
		anchor := ts(t, propAnchors[rng.IntN(len(propAnchors))]+"T00:00:00Z")
		n := 1 + rng.IntN(120)
		ids := rng.Perm(n * 3)

		var gotIss Issues
		var refIss refIssues
		got := map[GroupKey][]Run{}
		ref := map[string][]refRun{} // "script day"
		for i := range n {
			src := genSource(rng, int64(ids[i]+1), anchor)
			run, iss, ok := Normalize(src, loc, DefaultLimits)
			gotIss.Add(iss)
			rr, rok := refNormalize(src, loc, &refIss)
			if ok != rok {
				t.Fatalf("batch %d run %d: ok %v, reference %v", batch, src.ID, ok, rok)
			}
			if !ok {
				continue
			}
			if run.Day.String() != rr.day {
				t.Fatalf("batch %d run %d: day %s, reference %s (%v in %v)", batch, src.ID, run.Day, rr.day, rr.ordered, loc)
			}
			got[run.Key()] = append(got[run.Key()], run)
			k := fmt.Sprintf("%d %s", src.ScriptID, rr.day)
			ref[k] = append(ref[k], rr)
		}
		wantIss := Issues{RejectedDayOutOfRange: refIss.rejected, InvalidDuration: refIss.invalidDuration,
			OtherStatus: refIss.otherStatus, StepsNotArray: refIss.notArray, StepsEmptyArray: refIss.emptyArray,
			InvalidStepElements: refIss.invalidElements, DuplicateStepIndexes: refIss.duplicates}
		if gotIss != wantIss {
			t.Fatalf("batch %d: issues\n%+v\nreference\n%+v", batch, gotIss, wantIss)
		}
		if len(got) != len(ref) {
			t.Fatalf("batch %d: %d groups, reference %d", batch, len(got), len(ref))
		}

		for key, runs := range got {
			groups++
			rruns := ref[fmt.Sprintf("%d %s", key.ScriptID, key.Day)]
			if len(rruns) != len(runs) {
				t.Fatalf("batch %d group %v: %d runs, reference %d", batch, key, len(runs), len(rruns))
			}
			day, hasDay, steps := agg.Aggregate(runs)
			checkGroup(t, fmt.Sprintf("batch %d group %v", batch, key), key, rruns, day, hasDay, steps)
			rowsChecked += len(steps)

			// The input order changes nothing, to the bit.
			shuffled := append([]Run(nil), runs...)
			rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
			day2, hasDay2, steps2 := Aggregate(shuffled)
			if hasDay2 != hasDay || !sameDay(day, day2) || !sameSteps(steps, steps2) {
				t.Fatalf("batch %d group %v: order changed the result", batch, key)
			}
		}
	}
	if groups < 3000 || rowsChecked < 3000 {
		t.Fatalf("only %d groups and %d step rows checked", groups, rowsChecked)
	}
	t.Logf("%d groups, %d step rows checked", groups, rowsChecked)
}

func checkGroup(t *testing.T, where string, key GroupKey, runs []refRun, day ScriptDay, hasDay bool, steps []StepDay) {
	t.Helper()
	var total, success, failed, timeout, cancelled, other, invalid uint64
	var all, succ []float64
	for _, r := range runs {
		if r.class == "" {
			continue
		}
		total++
		switch r.class {
		case "success":
			success++
		case "failed":
			failed++
		case "timeout":
			timeout++
		case "cancelled":
			cancelled++
		case "other":
			other++
		}
		if !r.durOK {
			invalid++
			continue
		}
		all = append(all, r.dur)
		if r.class == "success" {
			succ = append(succ, r.dur)
		}
	}
	if total == 0 {
		if hasDay || steps != nil {
			t.Fatalf("%s: no counted run, but hasDay %v, %d steps", where, hasDay, len(steps))
		}
		return
	}
	if !hasDay {
		t.Fatalf("%s: no day", where)
	}
	a, s := refStats(all), refStats(succ)
	ok := day.ScriptID == key.ScriptID && day.Day == key.Day &&
		day.Total == total && day.Success == success && day.Failed == failed && day.Timeout == timeout &&
		day.Cancelled == cancelled && day.Other == other &&
		day.SuccessRate == float64(success)/float64(total) &&
		day.DurationCount == uint64(len(all)) && day.InvalidDuration == invalid &&
		closeTo(day.DurationAvg, a.avg, a.n) && exact(day.DurationMin, a.min, a.n) && exact(day.DurationMax, a.max, a.n) &&
		exact(day.DurationP50, a.p50, a.n) && exact(day.DurationP90, a.p90, a.n) &&
		exact(day.DurationP95, a.p95, a.n) && exact(day.DurationP99, a.p99, a.n) &&
		closeTo(day.SuccessDurationAvg, s.avg, s.n) && exact(day.SuccessDurationP50, s.p50, s.n) &&
		exact(day.SuccessDurationP95, s.p95, s.n)
	if !ok {
		t.Fatalf("%s:\ngot  %+v\nwant counts %d/%d/%d/%d/%d/%d invalid %d\nall %+v\nsuccess %+v", where, day,
			total, success, failed, timeout, cancelled, other, invalid, a, s)
	}

	rows := refStepRows(runs)
	var idx []int
	for i := range rows {
		idx = append(idx, int(i))
	}
	sort.Ints(idx)
	if len(steps) != len(idx) {
		t.Fatalf("%s: %d step rows, reference %d", where, len(steps), len(idx))
	}
	for i, index := range idx {
		r, g := rows[int32(index)], steps[i]
		want := StepDay{ScriptID: key.ScriptID, StepIndex: int32(index), Day: key.Day, StepName: nullStrOf(r.name),
			Attempts: uint64(r.attempts), Failures: uint64(r.failures),
			FailureRate: float64(r.failures) / float64(r.attempts), LastError: nullStrOf(r.failErr)}
		if r.hasFail {
			want.LastFailureAt = NullTime{Time: r.failAt, Valid: true}
		}
		if g.ScriptID != want.ScriptID || g.StepIndex != want.StepIndex || g.Day != want.Day || g.StepName != want.StepName ||
			g.Attempts != want.Attempts || g.Failures != want.Failures || g.FailureRate != want.FailureRate ||
			g.LastFailureAt.Valid != want.LastFailureAt.Valid || !g.LastFailureAt.Time.Equal(want.LastFailureAt.Time) ||
			g.LastError != want.LastError {
			t.Fatalf("%s: step row\ngot  %+v\nwant %+v", where, g, want)
		}
	}
}

// sameDay compares two rows bit for bit (NaN cannot occur in them).
func sameDay(a, b ScriptDay) bool { return a == b }

func sameSteps(a, b []StepDay) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
