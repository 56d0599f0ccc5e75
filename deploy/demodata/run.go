package demodata

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
)

// taskLogColumns is the COPY column order of run.values.
var taskLogColumns = []string{
	"id", "script_id", "status", "started_at", "finished_at", "duration",
	"failed_step_index", "failed_step_name", "error_message", "steps",
	"created_at", "updated_at",
}

// ts is a nullable timestamp that may also be ±infinity.
type ts struct {
	t   time.Time
	ok  bool
	inf int8 // +1 infinity, -1 -infinity
}

func (v ts) value() any {
	switch {
	case !v.ok:
		return nil
	case v.inf > 0:
		return pgtype.Timestamptz{InfinityModifier: pgtype.Infinity, Valid: true}
	case v.inf < 0:
		return pgtype.Timestamptz{InfinityModifier: pgtype.NegativeInfinity, Valid: true}
	}
	return v.t
}

func some(t time.Time) ts { return ts{t: t, ok: true} }

// run is one task_log row being built.
type run struct {
	id, scriptID  int64
	status        string
	created       time.Time
	updated       time.Time
	started       ts
	finished      ts
	duration      float64
	hasDuration   bool
	failedIdx     int32
	hasFailedIdx  bool
	failedName    string
	hasFailedName bool
	errMsg        string
	hasErr        bool
	steps         []byte // raw JSON, nil for NULL
}

func (r *run) values(row []any) {
	row[0] = r.id
	row[1] = r.scriptID
	row[2] = r.status
	row[3] = r.started.value()
	row[4] = r.finished.value()
	row[5] = nil
	if r.hasDuration {
		row[5] = r.duration
	}
	row[6] = nil
	if r.hasFailedIdx {
		row[6] = r.failedIdx
	}
	row[7] = nil
	if r.hasFailedName {
		row[7] = r.failedName
	}
	row[8] = nil
	if r.hasErr {
		row[8] = r.errMsg
	}
	row[9] = nil
	if r.steps != nil {
		row[9] = r.steps
	}
	row[10] = r.created
	row[11] = r.updated
}

// Step statuses.
const (
	stSuccess uint8 = iota
	stFailed
	stSkipped
)

var stepStatusJSON = [...]string{`"success"`, `"failed"`, `"skipped"`}

// stepEl is one element of a run's steps array. The raw* fields, when set,
// replace the JSON of that member (odd mode).
type stepEl struct {
	index     int
	name      string
	status    uint8
	dur       float64
	hasDur    bool
	err       string
	hasErr    bool
	omitIndex bool
	rawIndex  string
	rawName   string
	rawStatus string
	rawDur    string
}

// appendSteps writes the contract's steps array (compact: jsonb keeps no
// formatting anyway).
func appendSteps(b []byte, els []stepEl) []byte {
	b = append(b, '[')
	for i := range els {
		e := &els[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '{')
		if !e.omitIndex {
			b = append(b, `"index":`...)
			if e.rawIndex != "" {
				b = append(b, e.rawIndex...)
			} else {
				b = strconv.AppendInt(b, int64(e.index), 10)
			}
			b = append(b, ',')
		}
		b = append(b, `"name":`...)
		if e.rawName != "" {
			b = append(b, e.rawName...)
		} else {
			b = appendJSONString(b, e.name)
		}
		b = append(b, `,"status":`...)
		if e.rawStatus != "" {
			b = append(b, e.rawStatus...)
		} else {
			b = append(b, stepStatusJSON[e.status]...)
		}
		b = append(b, `,"duration":`...)
		switch {
		case e.rawDur != "":
			b = append(b, e.rawDur...)
		case e.hasDur:
			b = strconv.AppendFloat(b, e.dur, 'f', -1, 64)
		default:
			b = append(b, "null"...)
		}
		b = append(b, `,"error":`...)
		if e.hasErr {
			b = appendJSONString(b, e.err)
		} else {
			b = append(b, "null"...)
		}
		b = append(b, '}')
	}
	return append(b, ']')
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s (valid UTF-8, no NUL) as a JSON string.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"':
			b = append(b, `\"`...)
		case '\\':
			b = append(b, `\\`...)
		case '\n':
			b = append(b, `\n`...)
		case '\r':
			b = append(b, `\r`...)
		case '\t':
			b = append(b, `\t`...)
		default:
			b = append(b, `\u00`...)
			b = append(b, hexDigits[c>>4], hexDigits[c&0xf])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// addSec adds sec seconds to t, at microsecond precision (PostgreSQL's).
func addSec(t time.Time, sec float64) time.Time {
	return t.Add(time.Duration(math.Round(sec*1e6)) * time.Microsecond)
}

func round3(x float64) float64 { return math.Round(x*1000) / 1000 }

// builder simulates runs of the model. Generate and Mutate share it.
type builder struct {
	m       *model
	r       *rand.Rand
	els     []stepEl
	failMsg string
}

// simulate plays the steps of s for a run started at at and fills b.els. It
// returns the run status (success, failed or timeout), the failed step (-1
// for none) and the run's duration in seconds.
func (b *builder) simulate(s *script, at time.Time, forceSuccess bool) (status string, failedAt int, total float64) {
	r := b.r
	b.els = b.els[:0]
	runF := lognormal(r, 1, 0.12)
	failedAt = -1
	status = "success"
	b.failMsg = ""
	for j := range s.steps {
		el := stepEl{index: j, name: b.m.stepName(s, j, at)}
		if failedAt >= 0 {
			el.status = stSkipped
			b.els = append(b.els, el)
			continue
		}
		st := &s.steps[j]
		d := st.base * b.m.durFactor(s, j, at) * runF * lognormal(r, 1, 0.3)
		if !forceSuccess && r.Float64() < b.m.hazard(s, j, at) {
			kind := st.errKind
			if j != s.flakyStep && j != s.breakStep && j != s.brokenStep && r.Float64() < 0.3 {
				kind = errKind(r.IntN(int(numErrKinds)))
			}
			switch kind {
			case errSelectorTimeout:
				d = 30 + 0.4*r.Float64()
			case errURLTimeout:
				d = 15 + 0.4*r.Float64()
			default:
				d *= 0.2 + 0.8*r.Float64()
			}
			el.status = stFailed
			b.failMsg = errorText(r, s, j, kind)
			el.err = b.failMsg
			el.hasErr = r.Float64() < 0.8 // else the run's error_message stands for it
			failedAt = j
			status = "failed"
			if kind.isTimeout() && r.Float64() < 0.5 {
				status = "timeout"
			}
		}
		el.dur = round3(d)
		el.hasDur = true
		total += el.dur
		b.els = append(b.els, el)
	}
	total = round3(total + s.overhead*b.m.shiftFactor(s, at)*lognormal(r, 1, 0.2))
	return status, failedAt, total
}

// cancelAt turns the simulated run into one cancelled before step j and
// returns the time it ran.
func (b *builder) cancelAt(j int) float64 {
	total := 0.0
	for i := range b.els {
		e := &b.els[i]
		if i < j && e.status == stSuccess {
			total += e.dur
			continue
		}
		if i == j && e.hasDur {
			total += e.dur * b.r.Float64()
		}
		e.status, e.hasDur, e.dur, e.err, e.hasErr = stSkipped, false, 0, "", false
	}
	return round3(total)
}

// completedBefore counts the leading successful steps that ended within
// limit seconds of the start, and returns their time.
func (b *builder) completedBefore(limit float64) (k int, elapsed float64) {
	for _, e := range b.els {
		if e.status != stSuccess || elapsed+e.dur > limit {
			break
		}
		elapsed += e.dur
		k++
	}
	return k, elapsed
}

func cancelMessage(r *rand.Rand, queued bool) string {
	u := users[r.IntN(len(users))]
	switch {
	case queued:
		return fmt.Sprintf("Cancelled by %s while queued", u)
	case r.IntN(2) == 0:
		return fmt.Sprintf("Run cancelled by %s", u)
	default:
		return "Cancelled: superseded by a newer run on the same branch"
	}
}
