package load

import (
	"encoding/binary"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"unsafe"

	"github.com/scriptstats/scriptstats/transform"
)

func TestStepCodecRoundTrip(t *testing.T) {
	name := func(s string) transform.NullString { return transform.NullString{String: s, Valid: true} }
	steps := []transform.Step{
		{Index: 0, Name: name("open"), Status: transform.StepSuccess, Error: name("ignored: not failed")},
		{Index: -7, Name: transform.NullString{}, Status: transform.StepFailed, Error: name("boom \x00 é")},
		{Index: 2147483647, Name: name(strings.Repeat("n", 300)), Status: transform.StepSkipped},
		{Index: 3, Name: name(""), Status: transform.StepFailed},
	}
	want := []transform.Step{steps[0], steps[1], steps[2], steps[3]}
	want[0].Error = transform.NullString{} // only failed steps keep their error
	var d stepDecoder
	got, err := d.decode(string(encodeSteps(nil, steps)), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, want)
	}
	if got, err := d.decode(string(encodeSteps(nil, nil)), nil); err != nil || len(got) != 0 {
		t.Fatalf("no steps: %v %v", got, err)
	}
	for _, bad := range []string{"", "\x05", "\x01\x00", "\x01\x00\x01\x01\x09ab"} {
		if _, err := d.decode(bad, nil); err == nil {
			t.Errorf("decode(%q) accepted corrupt input", bad)
		}
	}
}

// TestStepDurationBits decodes the hex IEEE 754 bits of detect_change_runs.sql;
// the expected values are written by hand from the bit patterns.
func TestStepDurationBits(t *testing.T) {
	bits := "3FF4000000000000" + // 1.25
		"7FF8000000000000" + // NaN (what the query sends for NULL)
		"0000000000000000" + // +0
		"8000000000000000" + // −0
		"7ff0000000000000" + // +Inf, lower-case digits
		"0000000000000001" + // the smallest subnormal
		"C0C3880000000000" // −10000
	steps := make([]transform.Step, 7)
	if err := stepDurationBits(bits, steps); err != nil {
		t.Fatal(err)
	}
	want := []struct {
		v     float64
		valid bool
	}{{1.25, true}, {0, false}, {0, true}, {math.Copysign(0, -1), true}, {math.Inf(1), true}, {5e-324, true}, {-10000, true}}
	for k, w := range want {
		d := steps[k].Duration
		if d.Valid != w.valid || (w.valid && math.Float64bits(d.Float64) != math.Float64bits(w.v)) {
			t.Errorf("step %d: %v (valid %v), want %v (valid %v)", k, d.Float64, d.Valid, w.v, w.valid)
		}
	}
	for _, bad := range []string{"3FF400000000000", "3FF400000000000G", "3FF400000000000g", "0x3FF40000000000",
		"+3FF400000000000", "3FF4 00000000000", "3FF400000000000\xc3", "3FF4000000000000" + "3FF4000000000000"} {
		if err := stepDurationBits(bad, make([]transform.Step, 1)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// BenchmarkStepDurationBits: ten steps' bits, the size of a bench run.
func BenchmarkStepDurationBits(b *testing.B) {
	var bits string
	for k := range 10 {
		bits += "3FF40000000000" + string("0123456789"[k]) + "0"
	}
	steps := make([]transform.Step, 10)
	for b.Loop() {
		if err := stepDurationBits(bits, steps); err != nil {
			b.Fatal(err)
		}
	}
}

// uvarintAt and varintAt read what binary.Uvarint and binary.Varint read,
// at any offset, on valid, truncated and overlong input.
func TestVarintAt(t *testing.T) {
	inputs := []string{"", "\x00", "\x01", "\x7f", "\x80", "\x80\x01", "\xff\x7f", "\xac\x02rest",
		"\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02",
		"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", "\xff\xff\xff\xff\xff\xff\xff\xff\xff",
		"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", "\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x00"}
	for _, v := range []uint64{0, 1, 63, 64, 127, 128, 300, 1 << 31, math.MaxInt32, math.MaxUint32, math.MaxInt64, math.MaxUint64} {
		inputs = append(inputs, string(binary.AppendUvarint(nil, v)), string(binary.AppendVarint(nil, int64(v))))
	}
	for _, in := range inputs {
		for _, prefix := range []string{"", "ab"} {
			b := prefix + in
			wantU, wantN := binary.Uvarint([]byte(in))
			if u, n := uvarintAt(b, len(prefix)); u != wantU || n != wantN {
				t.Errorf("uvarintAt(%q, %d) = %d, %d; binary.Uvarint %d, %d", b, len(prefix), u, n, wantU, wantN)
			}
			wantV, wantN := binary.Varint([]byte(in))
			if v, n := varintAt(b, len(prefix)); v != wantV || n != wantN {
				t.Errorf("varintAt(%q, %d) = %d, %d; binary.Varint %d, %d", b, len(prefix), v, n, wantV, wantN)
			}
		}
	}
}

// Decoded names and errors are copies of the value (never within it) and
// repeated ones are one string, up to the decoder's bounds.
func TestStepDecoderSharesTexts(t *testing.T) {
	steps := []transform.Step{{Index: 1, Name: text("open page"), Status: transform.StepFailed, Error: text("timeout")}}
	a, b := string(encodeSteps(nil, steps)), string(encodeSteps(nil, steps))
	var d stepDecoder
	x, err := d.decode(a, nil)
	if err != nil {
		t.Fatal(err)
	}
	y, err := d.decode(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	within := func(s, in string) bool {
		p, lo := uintptr(unsafe.Pointer(unsafe.StringData(s))), uintptr(unsafe.Pointer(unsafe.StringData(in)))
		return p >= lo && p < lo+uintptr(len(in))
	}
	for _, s := range []string{x[0].Name.String, x[0].Error.String} {
		if within(s, a) {
			t.Errorf("%q points into the value decoded", s)
		}
	}
	if unsafe.StringData(x[0].Name.String) != unsafe.StringData(y[0].Name.String) ||
		unsafe.StringData(x[0].Error.String) != unsafe.StringData(y[0].Error.String) {
		t.Error("a repeated name or error is two strings")
	}
	full := stepDecoder{bytes: decodeInternMaxBytes - 8}
	if _, err := full.decode(a, nil); err != nil {
		t.Fatal(err)
	}
	if _, kept := full.texts["open page"]; kept || full.bytes != decodeInternMaxBytes-1 {
		t.Errorf("past %d bytes: kept %v (%d bytes)", decodeInternMaxBytes, full.texts, full.bytes)
	}
}

// encodedStepsLen is the length encodeSteps writes, for indexes and texts
// whose varints take one to five bytes, NULL and empty texts, every status.
func TestEncodedStepsLen(t *testing.T) {
	var steps []transform.Step
	for i, idx := range []int32{0, -1, 63, -64, 64, 8191, -8192, 8192, 1 << 20, math.MaxInt32, math.MinInt32} {
		name := transform.NullString{String: strings.Repeat("n", (i*37)%300), Valid: i%4 != 3}
		steps = append(steps, transform.Step{Index: idx, Name: name, Status: []string{transform.StepSuccess, transform.StepFailed, transform.StepSkipped}[i%3],
			Error: transform.NullString{String: strings.Repeat("e", i*20), Valid: i%5 != 0}})
		if got, want := encodedStepsLen(steps), len(encodeSteps(nil, steps)); got != want {
			t.Fatalf("%d steps: %d, encodeSteps wrote %d", len(steps), got, want)
		}
	}
	if got := encodedStepsLen(nil); got != 1 {
		t.Fatalf("no steps: %d, want 1", got)
	}
}

// decodeKept's slices are apart (capacity = length) and survive later
// decodes; a long run gets its own slice.
func TestDecodeKeptApart(t *testing.T) {
	mk := func(idx ...int32) string {
		var steps []transform.Step
		for _, i := range idx {
			steps = append(steps, transform.Step{Index: i, Name: text(fmt.Sprint("s", i)), Status: transform.StepSuccess})
		}
		return string(encodeSteps(nil, steps))
	}
	var d stepDecoder
	a, err := d.decodeKept(mk(1, 2))
	if err != nil {
		t.Fatal(err)
	}
	b, err := d.decodeKept(mk(3))
	if err != nil {
		t.Fatal(err)
	}
	if cap(a) != 2 || cap(b) != 1 {
		t.Fatalf("capacities %d, %d", cap(a), cap(b))
	}
	_ = append(a, transform.Step{Index: 99})
	long := make([]int32, keptBlockSteps/8+1)
	for i := range long {
		long[i] = int32(i)
	}
	c, err := d.decodeKept(mk(long...))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.decodeKept(mk(7, 8, 9)); err != nil {
		t.Fatal(err)
	}
	if a[0].Index != 1 || a[1].Index != 2 || a[1].Name.String != "s2" || b[0].Index != 3 || b[0].Name.String != "s3" ||
		len(c) != len(long) || c[len(long)-1].Index != int32(len(long)-1) {
		t.Fatalf("kept steps changed: %+v %+v (%d long)", a, b, len(c))
	}
}

// One decoder over a sequence of runs whose names change at a position:
// same length other bytes, NULL, empty, long (two-byte length), more
// positions than remembered. Each run decodes to its own steps.
func TestStepDecoderSequence(t *testing.T) {
	names := func(ns ...*string) []transform.Step {
		var steps []transform.Step
		for i, n := range ns {
			st := transform.Step{Index: int32(i), Status: transform.StepSuccess}
			if n != nil {
				st.Name = text(*n)
			}
			steps = append(steps, st)
		}
		return steps
	}
	p := func(s string) *string { return &s }
	long := strings.Repeat("l", 200)
	many := make([]*string, positionNames+6)
	for i := range many {
		many[i] = p(fmt.Sprint("step ", i%3))
	}
	runs := [][]transform.Step{
		names(p("open"), p("submit")), names(p("open"), p("submit")), names(p("open"), p("submix")),
		names(p("open"), nil), names(p("open"), p("")), names(p(""), p("submit")), names(nil, p("")),
		names(p(long), p("submit")), names(p(long[:199]+"m"), p("submit")), names(p(long), p("submit")),
		names(many...), names(many[:positionNames+3]...), names(p("open")),
	}
	var d stepDecoder
	for k, want := range runs {
		got, err := d.decodeKept(string(encodeSteps(nil, want)))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("run %d:\n got %+v\nwant %+v", k, got, want)
		}
	}
}
