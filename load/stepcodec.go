package load

import (
	"encoding/binary"
	"errors"

	"github.com/scriptstats/scriptstats/transform"
)

// The steps of a run as the aggregates need them, packed into one String
// column (runs_state.agg_steps): recomputing a group then decodes one
// string per run instead of five arrays through the driver's reflection.
// Per step: zigzag varint index, status byte, name, and — for failed steps
// only, the only ones whose error matters — the error. A text is 0 (NULL)
// or 1 followed by a uvarint length and the bytes.

var errBadSteps = errors.New("corrupt agg_steps value")

const (
	codeSuccess = iota
	codeFailed
	codeSkipped
)

func encodeSteps(buf []byte, steps []transform.Step) []byte {
	buf = binary.AppendUvarint(buf[:0], uint64(len(steps)))
	for i := range steps {
		st := &steps[i]
		buf = binary.AppendVarint(buf, int64(st.Index))
		switch st.Status {
		case transform.StepFailed:
			buf = append(buf, codeFailed)
		case transform.StepSkipped:
			buf = append(buf, codeSkipped)
		default:
			buf = append(buf, codeSuccess)
		}
		buf = appendText(buf, st.Name)
		if st.Status == transform.StepFailed {
			buf = appendText(buf, st.Error)
		}
	}
	return buf
}

func appendText(buf []byte, s transform.NullString) []byte {
	if !s.Valid {
		return append(buf, 0)
	}
	buf = append(buf, 1)
	buf = binary.AppendUvarint(buf, uint64(len(s.String)))
	return append(buf, s.String...)
}

// stepDecoder decodes agg_steps values, sharing the strings of repeated
// names (a group's runs repeat the same step names).
type stepDecoder struct {
	names map[string]string
}

func (d *stepDecoder) decode(b string, out []transform.Step) ([]transform.Step, error) {
	n, k := binary.Uvarint([]byte(b[:min(len(b), binary.MaxVarintLen64)]))
	if k <= 0 || n > uint64(len(b)) {
		return out, errBadSteps
	}
	pos := k
	out = out[:0]
	if cap(out) < int(n) {
		// Exactly the run's steps (callers that keep runs keep no spare
		// capacity; ChangeRuns reuses one slice for every run).
		out = make([]transform.Step, 0, n)
	}
	for range n {
		var st transform.Step
		idx, k := binary.Varint([]byte(b[pos:min(len(b), pos+binary.MaxVarintLen64)]))
		if k <= 0 || pos+k >= len(b) {
			return out, errBadSteps
		}
		pos += k
		st.Index = int32(idx)
		switch b[pos] {
		case codeFailed:
			st.Status = transform.StepFailed
		case codeSkipped:
			st.Status = transform.StepSkipped
		default:
			st.Status = transform.StepSuccess
		}
		pos++
		var err error
		if st.Name, pos, err = d.text(b, pos, true); err != nil {
			return out, err
		}
		if st.Status == transform.StepFailed {
			if st.Error, pos, err = d.text(b, pos, false); err != nil {
				return out, err
			}
		}
		out = append(out, st)
	}
	return out, nil
}

func (d *stepDecoder) text(b string, pos int, intern bool) (transform.NullString, int, error) {
	if pos >= len(b) {
		return transform.NullString{}, pos, errBadSteps
	}
	if b[pos] == 0 {
		return transform.NullString{}, pos + 1, nil
	}
	pos++
	l, k := binary.Uvarint([]byte(b[pos:min(len(b), pos+binary.MaxVarintLen64)]))
	if k <= 0 || uint64(len(b)-pos-k) < l {
		return transform.NullString{}, pos, errBadSteps
	}
	pos += k
	s := b[pos : pos+int(l)]
	if intern {
		if d.names == nil {
			d.names = map[string]string{}
		}
		if v, ok := d.names[s]; ok {
			s = v
		} else if len(d.names) < 100000 {
			s = string([]byte(s)) // own copy: b is the driver's
			d.names[s] = s
		}
	} else {
		s = string([]byte(s))
	}
	return transform.NullString{String: s, Valid: true}, pos + int(l), nil
}
