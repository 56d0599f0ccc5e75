package load

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/scriptstats/scriptstats/transform"
)

// Change tails (migration 0017): per script, the last values of each of its
// duration series before a cut day, with their runs' keys and days, kept
// so that an incremental pass reads only the runs from the cut day on
// (schedules/changetail.go says when a tail may be used and why that is
// exact). One row of duration_changes_state per script, at TailKey.

// TailRunID is the run_id of a script's change tail row: its key is the
// run series' quiet mark key with run_id 1 (the mark's is 0).
const TailRunID int64 = 1

// TailKey is the key of a script's change tail.
func TailKey(scriptID int64) ChangeKey {
	return ChangeKey{Series: SeriesKey{ScriptID: scriptID, StepIndex: RunSeries}, OrderedAtUS: QuietMarkUS, RunID: TailRunID}
}

// IsTail says the key is a script's change tail.
func (k ChangeKey) IsTail() bool { return k.OrderedAtUS == QuietMarkUS && k.RunID == TailRunID }

// IsChangePoint says the key is a change point's (not a mark, not a tail).
func (k ChangeKey) IsChangePoint() bool { return k.OrderedAtUS != QuietMarkUS }

// ChangeTail is a script's change tail.
type ChangeTail struct {
	// Version is the pass that wrote it: no group of the tail's days may
	// have a greater version when it is used.
	Version uint64
	// MaxDay is the greatest day (in the zone, or stored) of the runs from
	// the tail's first to its last: a pass whose first changed day is after
	// it changed none of them.
	MaxDay transform.Day
	// Plain: every run from the tail's first to the cut is stored on its
	// day in the zone (none is an old bug's copy on another day), so the
	// runs of the tail before a day are a prefix of it.
	Plain bool
	// Cut is the stored day from which a pass that uses the tail reads the
	// runs; Last the last run before the cut in series order: the read
	// keeps only the runs after it.
	Cut  transform.Day
	Last RunKey
	// Runs are the runs the series' values belong to, in series order,
	// with the day of each in the zone.
	Runs   []RunKey
	Days   []transform.Day
	Series []TailSeries
	// ScanOptions are the change-point options the series' Scan tests
	// were computed with (the zero value in a tail of format 2, which
	// keeps none): a pass with other options does not use them.
	ScanOptions transform.ChangeOptions
}

// TailSeries is the end of one duration series before the cut.
type TailSeries struct {
	Step int32
	// Whole: Values start at the series' first value.
	Whole  bool
	Runs   []int32 // index into ChangeTail.Runs of each value, ascending
	Values []float64
	// Scan: the passing scan tests of a stretch of Values (positions in
	// Values), for the next pass's scan (transform.DetectChangesWithScan).
	Scan transform.ScanTests
}

// tailFormat 3 adds ScanOptions and each series' Scan to format 2, which
// DecodeTail still reads (without them: the next pass scans in full).
const (
	tailFormat       = 3
	tailFormatNoScan = 2
)

// EncodeTail packs t. Keys and days are deltas; a value that is a whole
// number of milliseconds (most durations) is that number, any other its
// IEEE 754 bits: every value comes back bit for bit.
func EncodeTail(t *ChangeTail) string {
	b := make([]byte, 0, 64+8*len(t.Runs)+4*len(t.Series))
	b = append(b, tailFormat)
	b = binary.AppendUvarint(b, t.Version)
	b = binary.AppendVarint(b, int64(t.MaxDay))
	plain := byte(0)
	if t.Plain {
		plain = 1
	}
	b = append(b, plain)
	b = binary.AppendVarint(b, int64(t.Cut))
	b = binary.AppendVarint(b, t.Last.OrderedAtUS)
	b = binary.AppendVarint(b, t.Last.RunID)
	o := t.ScanOptions
	b = binary.AppendUvarint(b, uint64(max(0, o.Window)))
	b = binary.AppendUvarint(b, uint64(max(0, o.ConfirmWindow)))
	for _, f := range []float64{o.MaxP, o.MinRatio, o.MinEffect} {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(f))
	}
	b = binary.AppendUvarint(b, uint64(len(t.Runs)))
	var prev RunKey
	var prevDay transform.Day
	for i, k := range t.Runs {
		b = binary.AppendVarint(b, k.OrderedAtUS-prev.OrderedAtUS)
		b = binary.AppendVarint(b, k.RunID-prev.RunID)
		b = binary.AppendVarint(b, int64(t.Days[i]-prevDay))
		prev, prevDay = k, t.Days[i]
	}
	b = binary.AppendUvarint(b, uint64(len(t.Series)))
	for _, s := range t.Series {
		b = binary.AppendVarint(b, int64(s.Step))
		whole := byte(0)
		if s.Whole {
			whole = 1
		}
		b = append(b, whole)
		b = binary.AppendUvarint(b, uint64(len(s.Values)))
		prevRun := int32(-1)
		for i, v := range s.Values {
			b = binary.AppendUvarint(b, uint64(s.Runs[i]-prevRun))
			prevRun = s.Runs[i]
			b = appendTailValue(b, v)
		}
		b = appendScanTests(b, s.Scan)
	}
	return string(b)
}

// appendScanTests writes c: its stretch, then each test's scale, its
// position (from the stretch's start plus the scale for the first of a
// scale, else from the previous), 2U and p (8 bytes).
func appendScanTests(b []byte, c transform.ScanTests) []byte {
	if c.From >= c.To {
		c = transform.ScanTests{}
	}
	b = binary.AppendUvarint(b, uint64(c.From))
	b = binary.AppendUvarint(b, uint64(c.To-c.From))
	b = binary.AppendUvarint(b, uint64(len(c.Tests)))
	prev := transform.ScanTest{Scale: -1}
	for _, t := range c.Tests {
		b = binary.AppendUvarint(b, uint64(t.Scale))
		if t.Scale != prev.Scale {
			b = binary.AppendUvarint(b, uint64(t.Index-c.From-t.Scale))
		} else {
			b = binary.AppendUvarint(b, uint64(t.Index-prev.Index))
		}
		b = binary.AppendUvarint(b, uint64(t.U2))
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(t.P))
		prev = t
	}
	return b
}

// appendTailValue writes v as zigzag(milliseconds)·2 when that is exact,
// else 1 and its 8 bytes.
func appendTailValue(b []byte, v float64) []byte {
	if m := math.Round(v * 1000); math.Abs(m) < 1<<52 {
		// The check is the decoder's own arithmetic (−0 and 0 differ here).
		if mi := int64(m); math.Float64bits(float64(mi)/1000) == math.Float64bits(v) {
			return binary.AppendUvarint(b, uint64((mi<<1)^(mi>>63))<<1)
		}
	}
	b = binary.AppendUvarint(b, 1)
	return binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
}

var errTailCut = errors.New("change tail: cut short")

// DecodeTail unpacks a tail written by EncodeTail.
func DecodeTail(s string) (*ChangeTail, error) {
	if len(s) == 0 || (s[0] != tailFormat && s[0] != tailFormatNoScan) {
		return nil, fmt.Errorf("change tail: unknown format")
	}
	scan := s[0] == tailFormat
	d := tailReader{packedReader{b: s, pos: 1, bad: errTailCut}}
	t := &ChangeTail{Version: d.uvarint()}
	t.MaxDay = transform.Day(d.varint())
	t.Plain = d.byte() == 1
	t.Cut = transform.Day(d.varint())
	t.Last = RunKey{OrderedAtUS: d.varint(), RunID: d.varint()}
	if scan {
		t.ScanOptions = transform.ChangeOptions{Window: d.size(), ConfirmWindow: d.size(),
			MaxP: d.float(), MinRatio: d.float(), MinEffect: d.float()}
	}
	n := d.count(3)
	t.Runs, t.Days = make([]RunKey, n), make([]transform.Day, n)
	var prev RunKey
	var prevDay transform.Day
	for i := range n {
		prev = RunKey{OrderedAtUS: prev.OrderedAtUS + d.varint(), RunID: prev.RunID + d.varint()}
		prevDay += transform.Day(d.varint())
		t.Runs[i], t.Days[i] = prev, prevDay
	}
	t.Series = make([]TailSeries, d.count(3))
	for k := range t.Series {
		s := &t.Series[k]
		s.Step = int32(d.varint())
		s.Whole = d.byte() == 1
		m := d.count(2)
		s.Runs, s.Values = make([]int32, m), make([]float64, m)
		prevRun := int64(-1)
		for i := range m {
			prevRun += int64(d.uvarint())
			if prevRun >= int64(n) || d.err != nil {
				return nil, fmt.Errorf("change tail: series %d: run %d of %d", s.Step, prevRun, n)
			}
			s.Runs[i] = int32(prevRun)
			s.Values[i] = d.value()
		}
		if scan {
			s.Scan = d.scanTests()
		}
	}
	if d.err != nil {
		return nil, d.err
	}
	if d.left() != 0 {
		return nil, fmt.Errorf("change tail: %d bytes after the end", d.left())
	}
	return t, nil
}

// tailReader reads EncodeTail's value, its counts and values too.
type tailReader struct{ packedReader }

// count reads a count of items of at least min bytes each, bounded by what
// is left (a corrupt count does not allocate).
func (d *tailReader) count(min int) int {
	n := d.uvarint()
	if n > uint64(d.left()/min) {
		d.fail()
		return 0
	}
	return int(n)
}

// size reads a uvarint that is a size or a position (fits an int32).
func (d *tailReader) size() int {
	v := d.uvarint()
	if v > math.MaxInt32 {
		d.fail()
		return 0
	}
	return int(v)
}

// float reads 8 bytes of IEEE 754 bits.
func (d *tailReader) float() float64 {
	if d.left() < 8 {
		d.fail()
		return 0
	}
	v := math.Float64frombits(binary.LittleEndian.Uint64([]byte(d.b[d.pos : d.pos+8])))
	d.pos += 8
	return v
}

// scanTests reads what appendScanTests wrote. (Whether the tests can be
// a series' is checked where they are used: transform refuses others.)
func (d *tailReader) scanTests() transform.ScanTests {
	from := d.size()
	c := transform.ScanTests{From: from, To: from + d.size()}
	c.Tests = make([]transform.ScanTest, d.count(11))
	prev := transform.ScanTest{Scale: -1}
	for k := range c.Tests {
		t := transform.ScanTest{Scale: d.size()}
		if t.Scale != prev.Scale {
			t.Index = c.From + t.Scale + d.size()
		} else {
			t.Index = prev.Index + d.size()
		}
		t.U2 = d.size()
		t.P = d.float()
		c.Tests[k], prev = t, t
	}
	if len(c.Tests) == 0 {
		c.Tests = nil
	}
	return c
}

func (d *tailReader) value() float64 {
	x := d.uvarint()
	if x&1 == 0 {
		z := x >> 1
		m := int64(z>>1) ^ -int64(z&1)
		return float64(m) / 1000
	}
	return d.float()
}

// Header is t without its runs and series: what a pass keeps of a stored
// tail it does not use (its cut, days, version and scan options), so that
// the values of every script's tail are not held through a detection that
// reads the runs instead — a backfill of every day decoded 56 MB of tails
// at 10M runs and used none (docs/performance.md, "Thirteenth round").
func (t *ChangeTail) Header() *ChangeTail {
	h := *t
	h.Runs, h.Days, h.Series = nil, nil, nil
	return &h
}

// Before is the tail cut at day first: its runs on days before first (a
// prefix of a Plain tail's runs) and each series' values on them; nil when
// no run is before first. Series keep their entry (Whole as before) even
// when none of their values is left: the series has values before the read.
func (t *ChangeTail) Before(first transform.Day) *ChangeTail {
	n, _ := slices.BinarySearch(t.Days, first)
	if n == 0 {
		return nil
	}
	out := *t
	out.Runs, out.Days, out.Last = t.Runs[:n], t.Days[:n], t.Runs[n-1]
	out.Series = make([]TailSeries, len(t.Series))
	for i, s := range t.Series {
		m, _ := slices.BinarySearch(s.Runs, int32(n))
		out.Series[i] = TailSeries{Step: s.Step, Whole: s.Whole, Runs: s.Runs[:m], Values: s.Values[:m], Scan: s.Scan.Within(0, m)}
	}
	return &out
}
