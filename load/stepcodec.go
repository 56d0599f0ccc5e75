package load

import (
	"encoding/binary"
	"errors"
	"math/bits"
	"slices"
	"strings"

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

// encodedStepsLen is len(encodeSteps(nil, steps)), computed without
// encoding: what a batch's packed column reserves.
func encodedStepsLen(steps []transform.Step) int {
	n := uvarintLen(uint64(len(steps)))
	for i := range steps {
		st := &steps[i]
		n += uvarintLen(zigzag(int64(st.Index))) + 1 + textLen(st.Name)
		if st.Status == transform.StepFailed {
			n += textLen(st.Error)
		}
	}
	return n
}

func textLen(s transform.NullString) int {
	if !s.Valid {
		return 1
	}
	return 1 + uvarintLen(uint64(len(s.String))) + len(s.String)
}

// uvarintLen is the number of bytes binary.AppendUvarint writes for x.
func uvarintLen(x uint64) int { return (bits.Len64(x|1) + 6) / 7 }

// zigzag is the unsigned form binary.AppendVarint encodes x as.
func zigzag(x int64) uint64 { return uint64(x<<1) ^ uint64(x>>63) }

func appendText(buf []byte, s transform.NullString) []byte {
	if !s.Valid {
		return append(buf, 0)
	}
	buf = append(buf, 1)
	buf = binary.AppendUvarint(buf, uint64(len(s.String)))
	return append(buf, s.String...)
}

// uvarintAt is binary.Uvarint of b[pos:], read in place (a []byte of the
// string would be a copy per value): the value and the bytes read, 0
// when b ends first, negative on overflow.
func uvarintAt(b string, pos int) (uint64, int) {
	var x uint64
	var s uint
	for i := 0; pos+i < len(b); i++ {
		if i == binary.MaxVarintLen64 {
			return 0, -(i + 1) // overflow
		}
		c := b[pos+i]
		if c < 0x80 {
			if i == binary.MaxVarintLen64-1 && c > 1 {
				return 0, -(i + 1) // overflow
			}
			return x | uint64(c)<<s, i + 1
		}
		x |= uint64(c&0x7f) << s
		s += 7
	}
	return 0, 0
}

// varintAt is binary.Varint of b[pos:], read in place.
func varintAt(b string, pos int) (int64, int) {
	ux, n := uvarintAt(b, pos)
	x := int64(ux >> 1)
	if ux&1 != 0 {
		x = ^x
	}
	return x, n
}

// stepDecoder decodes agg_steps values, sharing the strings of repeated
// names and errors (a group's runs, and a script's, repeat the same step
// names, and their failed steps the same errors).
type stepDecoder struct {
	texts map[string]string
	bytes int // of the texts kept
	// The names decoded last at each step position: the runs of a group,
	// or of a script, come one after the other and name their steps
	// alike, so a name is most often the one before at its position (a
	// comparison; the map's lookup cost more than the rest of decode).
	lastNames [positionNames]string
	// For decodeKept: the steps decoded last, and the unused rest of the
	// block kept steps are taken from.
	scratch, free []transform.Step
}

// positionNames is how many step positions remember their last name.
const positionNames = 64

// keptBlockSteps is the size of the blocks decodeKept takes steps from;
// a run with more than keptBlockSteps/8 steps gets its own slice.
const keptBlockSteps = 4096

// decodeKept decodes b into steps of their own, for a caller that keeps
// them: from shared blocks (one allocation per block, not per run), each
// slice's capacity its length; a block is never reused.
func (d *stepDecoder) decodeKept(b string) ([]transform.Step, error) {
	var err error
	if d.scratch, err = d.decode(b, d.scratch); err != nil {
		return nil, err
	}
	n := len(d.scratch)
	if n > keptBlockSteps/8 {
		return slices.Clone(d.scratch), nil
	}
	if len(d.free) < n {
		d.free = make([]transform.Step, keptBlockSteps)
	}
	out := d.free[:n:n]
	d.free = d.free[n:]
	copy(out, d.scratch)
	return out, nil
}

// The decoder keeps texts of up to decodeInternMaxText bytes, until it
// holds decodeInternMaxBytes of them; others are copied each time.
const (
	decodeInternMaxText  = 1024
	decodeInternMaxBytes = 8 << 20
)

func (d *stepDecoder) decode(b string, out []transform.Step) ([]transform.Step, error) {
	n, k := uvarintAt(b, 0)
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
	for i := range n {
		var st transform.Step
		idx, k := varintAt(b, pos)
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
		if st.Name, pos, err = d.name(b, pos, i); err != nil {
			return out, err
		}
		if st.Status == transform.StepFailed {
			if st.Error, pos, err = d.text(b, pos); err != nil {
				return out, err
			}
		}
		out = append(out, st)
	}
	return out, nil
}

// name is text for the name of the step at position i.
func (d *stepDecoder) name(b string, pos int, i uint64) (transform.NullString, int, error) {
	if i >= positionNames || pos+1 >= len(b) || b[pos] == 0 {
		return d.text(b, pos)
	}
	last := d.lastNames[i]
	// A short name's length is one byte; the name follows it.
	if l := int(b[pos+1]); l < 0x80 && l == len(last) && pos+2+l <= len(b) && b[pos+2:pos+2+l] == last {
		return transform.NullString{String: last, Valid: true}, pos + 2 + l, nil
	}
	s, pos, err := d.text(b, pos)
	if err == nil {
		d.lastNames[i] = s.String
	}
	return s, pos, err
}

func (d *stepDecoder) text(b string, pos int) (transform.NullString, int, error) {
	if pos >= len(b) {
		return transform.NullString{}, pos, errBadSteps
	}
	if b[pos] == 0 {
		return transform.NullString{}, pos + 1, nil
	}
	pos++
	l, k := uvarintAt(b, pos)
	if k <= 0 || uint64(len(b)-pos-k) < l {
		return transform.NullString{}, pos, errBadSteps
	}
	pos += k
	s := b[pos : pos+int(l)]
	if v, ok := d.texts[s]; ok {
		s = v
	} else {
		s = strings.Clone(s) // own copy: b is the driver's
		if len(s) <= decodeInternMaxText && d.bytes+len(s) <= decodeInternMaxBytes {
			if d.texts == nil {
				d.texts = make(map[string]string, 256)
			}
			d.texts[s] = s
			d.bytes += len(s)
		}
	}
	return transform.NullString{String: s, Valid: true}, pos + int(l), nil
}
