package transform

import (
	"math"
	"slices"
	"strconv"
)

// dupScanMax is the step count up to which duplicate indexes are found by
// comparing every pair (no allocation); longer lists are sorted.
const dupScanMax = 32

// stepsOf returns the steps of a run per contract section 2, "Steps of a
// run": the valid elements of steps when it is a non-empty JSON array, else
// the single failed step of failed_step_index, else none. failedName and
// runErr are the run's failed_step_name and error_message, already repaired
// and cut.
func stepsOf(src *SourceRun, failedName, runErr NullString, lim Limits, n *Normalizer, iss *Issues) []Step {
	if steps, isArray := parseSteps(src.Steps, runErr, lim, n.sharing(src.ScriptID), iss); isArray {
		return steps
	}
	if !src.FailedStepIndex.Valid {
		return nil
	}
	return []Step{{
		Index:  src.FailedStepIndex.Int32,
		Name:   failedName,
		Status: StepFailed,
		Error:  runErr,
	}}
}

// parseSteps parses the jsonb text of task_log.steps. isArray reports a
// non-empty JSON array, whose valid elements are then the run's steps (even
// when none is valid: the contract falls back to failed_step_index only when
// steps is not a non-empty array). Text that is not valid JSON is not an
// array: nothing read from it counts, only StepsNotArray.
func parseSteps(raw []byte, runErr NullString, lim Limits, share stepSharing, iss *Issues) (_ []Step, isArray bool) {
	if raw == nil {
		return nil, false
	}
	i := skipWS(raw, 0)
	if i >= len(raw) || raw[i] != '[' {
		iss.StepsNotArray++ // valid JSON or not, it is no array
		return nil, false
	}
	if j := skipWS(raw, i+1); j < len(raw) && raw[j] == ']' {
		if skipWS(raw, j+1) != len(raw) {
			iss.StepsNotArray++
			return nil, false
		}
		iss.StepsEmptyArray++
		return nil, false
	}

	// Steps collect on the stack and are copied out once, at their size.
	var stack [16]Step
	steps := stack[:0]
	p := stepParser{raw: raw, runErr: runErr, lim: lim, texts: share.texts, lastNames: share.lastNames}
	i = skipWS(raw, i+1)
	for {
		if i < len(raw) && raw[i] == '{' {
			st, end, valid, ok := p.step(i)
			p.elem++
			if !ok {
				iss.StepsNotArray++
				return nil, false
			}
			if valid {
				steps = append(steps, st)
			} else {
				p.found.InvalidStepElements++
			}
			i = end
		} else {
			v, ok := scanValue(raw, i)
			if !ok {
				iss.StepsNotArray++
				return nil, false
			}
			p.found.InvalidStepElements++
			p.elem++
			i = v.end
		}
		i = skipWS(raw, i)
		if i < len(raw) && raw[i] == ',' {
			i = skipWS(raw, i+1)
			continue
		}
		if i < len(raw) && raw[i] == ']' && skipWS(raw, i+1) == len(raw) {
			break
		}
		iss.StepsNotArray++
		return nil, false
	}
	p.found.DuplicateStepIndexes = duplicateIndexes(steps)
	iss.Add(p.found)
	if len(steps) == 0 {
		return nil, true
	}
	return share.slab.clone(steps), true
}

// stepParser reads the elements of one steps array.
type stepParser struct {
	raw    []byte
	runErr NullString
	lim    Limits
	buf    []byte        // scratch for unescaped keys and texts
	texts  *textInterner // nil: every text its own string
	// lastNames: the names of the script's last run by element position
	// (nil: none kept); elem is the position of the element read.
	lastNames *[positionNames]string
	elem      int
	// found counts apart what the elements hold: it is added to the run's
	// issues only once the whole text proved valid JSON.
	found Issues
}

// step reads the object element at raw[i]. ok is false for invalid JSON;
// valid is false for an element the contract ignores: no integer index, or
// a status other than success, failed, skipped.
func (p *stepParser) step(i int) (st Step, end int, valid, ok bool) {
	// A repeated key keeps its last value, as jsonb does.
	var index, name, status, duration, stepErr span
	end, ok = p.fields(i, &index, &name, &status, &duration, &stepErr)
	if !ok {
		return st, end, false, false
	}

	if status.kind != kindString {
		return st, end, false, true
	}
	var sb []byte
	sb, p.buf = stringContent(p.raw, status, p.buf)
	switch string(sb) {
	case StepSuccess:
		st.Status = StepSuccess
	case StepFailed:
		st.Status = StepFailed
	case StepSkipped:
		st.Status = StepSkipped
	default:
		return st, end, false, true
	}

	if index.kind != kindNumber {
		return st, end, false, true
	}
	if st.Index, valid = parseIntegral(p.raw[index.start:index.end]); !valid {
		return st, end, false, true
	}

	st.Name = p.name(name, p.elem)
	st.Error = p.text(stepErr, p.lim.ErrorBytes)
	if !st.Error.Valid && st.Status == StepFailed {
		st.Error = p.runErr
	}
	if duration.kind == kindNumber {
		// Correctly rounded; out-of-range values come back as ±Inf, kept
		// as reported (judging them is not this field's business).
		f := parseDuration(p.raw[duration.start:duration.end])
		st.Duration = NullFloat{Float64: f, Valid: true}
	}
	return st, end, true, true
}

// fields validates the object whose '{' is raw[i] and sets the spans of
// the keys a step reads; its members are read in place (a callback per
// member cost a call and the captured spans' indirection each).
func (p *stepParser) fields(i int, index, name, status, duration, stepErr *span) (int, bool) {
	raw := p.raw
	i = skipWS(raw, i+1)
	if i < len(raw) && raw[i] == '}' {
		return i + 1, true
	}
	for {
		if i >= len(raw) || raw[i] != '"' {
			return i, false
		}
		key := span{start: i, kind: kindString}
		var ok bool
		if key.end, key.escaped, ok = scanString(raw, i); !ok {
			return i, false
		}
		i = skipWS(raw, key.end)
		if i >= len(raw) || raw[i] != ':' {
			return i, false
		}
		i = skipWS(raw, i+1)
		v, ok := scanValue(raw, i)
		if !ok {
			return i, false
		}
		var k []byte
		if key.escaped {
			k, p.buf = stringContent(raw, key, p.buf)
		} else {
			k = raw[key.start+1 : key.end-1]
		}
		switch string(k) {
		case "index":
			*index = v
		case "name":
			*name = v
		case "status":
			*status = v
		case "duration":
			*duration = v
		case "error":
			*stepErr = v
		}
		i = skipWS(raw, v.end)
		if i >= len(raw) {
			return i, false
		}
		switch raw[i] {
		case ',':
			i = skipWS(raw, i+1)
		case '}':
			return i + 1, true
		default:
			return i, false
		}
	}
}

// text returns a step's name or error: NULL for a missing key or JSON
// null, the string for a JSON string, else the value's JSON text; repaired
// and cut to limit.
func (p *stepParser) text(v span, limit int) NullString {
	t, _ := p.textClean(v, limit)
	return t
}

// textClean is text; clean reports a string kept as it came (no repair,
// no cut).
func (p *stepParser) textClean(v span, limit int) (_ NullString, clean bool) {
	var b []byte
	switch v.kind {
	case 0, kindNull:
		return NullString{}, false
	case kindString:
		b, p.buf = stringContent(p.raw, v, p.buf)
	default:
		p.buf = appendJSONText(p.buf[:0], p.raw, v)
		b = p.buf
	}
	s, repaired, cut := p.texts.cut(b, limit)
	if repaired {
		p.found.InvalidUTF8++
	}
	if cut {
		p.found.TextsCut++
	}
	return NullString{String: s, Valid: true}, v.kind == kindString && !repaired && !cut
}

// name is text for the name of the element at position elem: when the
// script's last run named that position with the same string (a
// comparison), that string, else text's (and it is remembered).
func (p *stepParser) name(v span, elem int) NullString {
	if p.lastNames == nil || elem >= len(p.lastNames) || v.kind != kindString {
		return p.text(v, p.lim.NameBytes)
	}
	last := &p.lastNames[elem]
	if !v.escaped {
		b := p.raw[v.start+1 : v.end-1]
		// A remembered name came clean and uncut, so the same bytes
		// within the limit give the same string.
		if string(b) == *last && (p.lim.NameBytes <= 0 || len(b) <= p.lim.NameBytes) {
			return NullString{String: *last, Valid: true}
		}
	}
	t, clean := p.textClean(v, p.lim.NameBytes)
	if clean {
		*last = t.String
	}
	return t
}

// parseDuration returns the float64 nearest to the valid JSON number
// num, as strconv.ParseFloat does. Durations are short decimals (2.433,
// 0.83): up to 15 significant digits and no exponent give the exact
// quotient of two exactly representable float64 values, an integer below
// 2^53 over a power of ten up to 1e22, which one IEEE division rounds
// correctly (Clinger's fast path, the one strconv takes for them too,
// without its general parsing); anything else goes to strconv.
func parseDuration(num []byte) float64 {
	neg := len(num) > 0 && num[0] == '-'
	i := 0
	if neg {
		i = 1
	}
	var mant uint64
	digits, frac := 0, 0
	seenDot := false
	for ; i < len(num); i++ {
		c := num[i]
		switch {
		case c >= '0' && c <= '9':
			mant = mant*10 + uint64(c-'0')
			if mant != 0 {
				digits++ // significant digits (leading zeros not counted)
			}
			if seenDot {
				frac++
			}
		case c == '.' && !seenDot:
			seenDot = true
		default: // an exponent
			f, _ := strconv.ParseFloat(string(num), 64)
			return f
		}
	}
	if digits > 15 || frac > 22 {
		f, _ := strconv.ParseFloat(string(num), 64)
		return f
	}
	f := float64(mant) / pow10[frac]
	if neg {
		f = -f
	}
	return f
}

// pow10 are the powers of ten a float64 holds exactly.
var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// parseIntegral parses the text of a valid JSON number and reports whether
// its value is an integer within int32 range. The decision is exact on the
// decimal text (2.0, 20e-1 and 0.2e1 are 2; 2.5 and 1e-400 are not integers),
// never through a float64 that would round 2.0000000000000001 to 2.
func parseIntegral(num []byte) (int32, bool) {
	neg := false
	if len(num) > 0 && num[0] == '-' {
		neg = true
		num = num[1:]
	}
	// The significant digits, integer and fraction part together, and the
	// power of ten they are scaled by.
	var digits [16]byte // more significant digits than this cannot be an int32
	nd := 0
	exp10 := int64(0)
	seenDot := false
	i := 0
	for ; i < len(num); i++ {
		c := num[i]
		if c == '.' {
			seenDot = true
			continue
		}
		if c < '0' || c > '9' {
			break
		}
		if seenDot {
			exp10--
		}
		if nd == 0 && c == '0' {
			continue // leading zero
		}
		if nd == len(digits) {
			// Too many significant digits, unless the rest are zeros
			// (then they only scale the value).
			if c != '0' {
				return 0, false
			}
			exp10++
			continue
		}
		digits[nd] = c
		nd++
	}
	if i < len(num) && (num[i] == 'e' || num[i] == 'E') {
		i++
		eneg := false
		if i < len(num) && (num[i] == '+' || num[i] == '-') {
			eneg = num[i] == '-'
			i++
		}
		e := int64(0)
		for ; i < len(num); i++ {
			if e < 1e12 { // saturate: beyond this the answer no longer changes
				e = e*10 + int64(num[i]-'0')
			}
		}
		if eneg {
			e = -e
		}
		exp10 += e
	}
	if nd == 0 {
		return 0, true // zero, whatever its exponent or sign
	}
	// Trailing zeros of the significand move into the exponent.
	for nd > 0 && digits[nd-1] == '0' {
		nd--
		exp10++
	}
	if exp10 < 0 || int64(nd)+exp10 > 10 {
		return 0, false // a fraction, or more than 10 digits
	}
	v := int64(0)
	for _, c := range digits[:nd] {
		v = v*10 + int64(c-'0')
	}
	for range exp10 {
		v *= 10
	}
	if neg {
		v = -v
	}
	if v < math.MinInt32 || v > math.MaxInt32 {
		return 0, false
	}
	return int32(v), true
}

// duplicateIndexes counts the steps whose index repeats an earlier step's.
func duplicateIndexes(steps []Step) int64 {
	n := len(steps)
	if n < 2 {
		return 0
	}
	if n <= dupScanMax {
		var dup int64
		for i := 1; i < n; i++ {
			for j := range i {
				if steps[j].Index == steps[i].Index {
					dup++
					break
				}
			}
		}
		return dup
	}
	idx := make([]int32, n)
	for i := range steps {
		idx[i] = steps[i].Index
	}
	slices.Sort(idx)
	var dup int64
	for i := 1; i < n; i++ {
		if idx[i] == idx[i-1] {
			dup++
		}
	}
	return dup
}
