package load

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/ClickHouse/ch-go/proto"
	"github.com/ClickHouse/clickhouse-go/v2/lib/column"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/scriptstats/scriptstats/transform"
)

// stepArrays holds the step array columns of runs_state rows (step_index,
// step_name, step_status, step_duration, step_error) in ch-go's typed
// columns, which append without boxing a value.
//
// The driver's own array columns append a row element by element through
// interfaces and reflection (Nullable's AppendRow inspects every value; a
// LowCardinality column boxes every string into a map key): ~1.45 CPU-s
// per 1M runs of a full load, with the pointer slices the rows needed
// (docs/performance.md, "Eighth round: the full load's CPU"). Here the
// arrays are written once in ClickHouse's native layout and the driver's
// empty columns read them with their Decode, the way they read a block
// from the server; the driver then sends them as any other column.
//
// The names and errors go straight into their native encoding (each a
// uvarint length and the bytes), which the driver's columns decode: no
// ch-go string column in between, whose Pos entries and EncodeColumn
// copied every name once more (docs/performance.md, "Ninth round: the
// load path's CPU").
type stepArrays struct {
	// Every run's end in the elements (the arrays' shared offsets).
	ends                proto.ColUInt64
	index               proto.ColInt32
	name, error         nativeStrings
	nameNull, errorNull proto.ColUInt8
	// step_status, LowCardinality: the distinct statuses in the order
	// they first came, and each element's key into them (ch-go's column
	// found the key through a map per element and kept it as an int).
	statusDict []string
	statusKeys proto.ColUInt8
	// tooManyStatuses: a 257th distinct status came, beyond a UInt8 key
	// (transform makes three).
	tooManyStatuses bool
	duration        proto.ColFloat64
	durationNull    proto.ColUInt8
}

func newStepArrays() *stepArrays {
	return &stepArrays{}
}

// reset empties the arrays, keeping their memory.
func (a *stepArrays) reset() {
	a.ends, a.index = a.ends[:0], a.index[:0]
	a.name, a.error = a.name[:0], a.error[:0]
	a.nameNull, a.errorNull = a.nameNull[:0], a.errorNull[:0]
	clear(a.statusDict)
	a.statusDict, a.statusKeys, a.tooManyStatuses = a.statusDict[:0], a.statusKeys[:0], false
	a.duration, a.durationNull = a.duration[:0], a.durationNull[:0]
}

// reserve makes room for runs and tombstones more rows, so that appending
// them copies each value once.
func (a *stepArrays) reserve(runs []transform.Run, tombstones int) {
	steps, names, errors := 0, 0, 0
	for i := range runs {
		for j := range runs[i].Steps {
			st := &runs[i].Steps[j]
			steps++
			names += len(st.Name.String)
			errors += len(st.Error.String)
		}
	}
	a.ends = slices.Grow(a.ends, len(runs)+tombstones)
	a.index = slices.Grow(a.index, steps)
	// A length takes one byte up to 127 bytes of text.
	a.name = slices.Grow(a.name, names+steps)
	a.error = slices.Grow(a.error, errors+steps)
	a.nameNull, a.errorNull = slices.Grow(a.nameNull, steps), slices.Grow(a.errorNull, steps)
	a.statusKeys = slices.Grow(a.statusKeys, steps)
	a.duration, a.durationNull = slices.Grow(a.duration, steps), slices.Grow(a.durationNull, steps)
}

// addRun appends one row: the run's steps (none for a tombstone).
func (a *stepArrays) addRun(steps []transform.Step) {
	for i := range steps {
		st := &steps[i]
		a.index = append(a.index, st.Index)
		a.name.Append(st.Name.String)
		a.nameNull = append(a.nameNull, nullFlag(st.Name.Valid))
		a.statusKeys = append(a.statusKeys, a.statusKey(st.Status))
		a.duration = append(a.duration, st.Duration.Float64)
		a.durationNull = append(a.durationNull, nullFlag(st.Duration.Valid))
		a.error.Append(st.Error.String)
		a.errorNull = append(a.errorNull, nullFlag(st.Error.Valid))
	}
	a.ends = append(a.ends, uint64(len(a.index)))
}

// sharedDictionariesWithAdditionalKeys is the key serialization version
// of a LowCardinality column, its state prefix.
const sharedDictionariesWithAdditionalKeys = 1

// statusKey is the status's key in statusDict, added when new.
func (a *stepArrays) statusKey(status string) uint8 {
	for k, s := range a.statusDict {
		if s == status {
			return uint8(k)
		}
	}
	if len(a.statusDict) == 256 {
		a.tooManyStatuses = true
		return 0
	}
	a.statusDict = append(a.statusDict, status)
	return uint8(len(a.statusDict) - 1)
}

// appendStatusColumn appends the head of step_status's elements
// (Array(LowCardinality(String)), after its state prefix and offsets) as
// ch-go's ColLowCardinality writes it (TestStatusColumnAsChGoWritesIt):
// the dictionary of the statuses met, in order, and the number of keys;
// the keys, one UInt8 per element, follow. Nothing when there is no
// element.
func (a *stepArrays) appendStatusColumn(b *proto.Buffer) {
	const (
		hasAdditionalKeys    = 1 << 9
		needUpdateDictionary = 1 << 10
		keyUInt8             = 0
	)
	if len(a.statusKeys) == 0 {
		return
	}
	b.PutInt64(hasAdditionalKeys | needUpdateDictionary | keyUInt8)
	b.PutInt64(int64(len(a.statusDict)))
	for _, s := range a.statusDict {
		b.PutString(s)
	}
	b.PutInt64(int64(len(a.statusKeys)))
}

// nativeStrings are strings in ClickHouse's native encoding of a String
// column: each a uvarint length, then its bytes.
type nativeStrings []byte

func (n *nativeStrings) Append(s string) {
	*n = append(binary.AppendUvarint(*n, uint64(len(s))), s...)
}

// nullFlag is a Nullable column's null map value: 1 for NULL.
func nullFlag(valid bool) uint8 {
	if valid {
		return 0
	}
	return 1
}

// rows is the number of rows added.
func (a *stepArrays) rows() int { return len(a.ends) }

// columns are the five arrays in insert_runs.sql's order, each as the
// readers of its native encoding, in order: the state prefix if any
// (LowCardinality's), the offsets, then the elements (the null map before
// the values of a Nullable).
func (a *stepArrays) columns() [][]io.Reader {
	var ends, index, nameNull, errorNull, durationNull, duration proto.Buffer
	a.ends.EncodeColumn(&ends)
	a.index.EncodeColumn(&index)
	a.nameNull.EncodeColumn(&nameNull)
	a.errorNull.EncodeColumn(&errorNull)
	a.durationNull.EncodeColumn(&durationNull)
	a.duration.EncodeColumn(&duration)
	var status, statusHead, statusKeys proto.Buffer
	status.PutInt64(sharedDictionariesWithAdditionalKeys) // its state prefix
	a.appendStatusColumn(&statusHead)
	a.statusKeys.EncodeColumn(&statusKeys)
	r := func(b []byte) io.Reader { return bytes.NewReader(b) }
	return [][]io.Reader{
		{r(ends.Buf), r(index.Buf)},
		{r(ends.Buf), r(nameNull.Buf), r(a.name)},
		{r(status.Buf), r(ends.Buf), r(statusHead.Buf), r(statusKeys.Buf)},
		{r(ends.Buf), r(durationNull.Buf), r(duration.Buf)},
		{r(ends.Buf), r(errorNull.Buf), r(a.error)},
	}
}

// decodeInto fills the batch's step array columns, which must hold no
// rows yet (a column's Decode replaces what it holds), with every row
// added; the batch's other columns get the same rows through appendTo.
func (a *stepArrays) decodeInto(batch driver.Batch) error {
	cols := batch.Columns()
	if a.tooManyStatuses {
		return errors.New("insert runs: more than 256 distinct step statuses")
	}
	arrays := a.columns()
	if len(cols) < firstStepColumn+len(arrays) {
		return fmt.Errorf("insert runs: %d columns, want at least %d", len(cols), firstStepColumn+len(arrays))
	}
	for k, parts := range arrays {
		col := cols[firstStepColumn+k]
		if col.Rows() != 0 {
			return fmt.Errorf("column %s: step arrays added twice to one batch", col.Name())
		}
		r := proto.NewReader(io.MultiReader(parts...))
		if s, ok := col.(column.CustomSerialization); ok {
			if err := s.ReadStatePrefix(r); err != nil {
				return fmt.Errorf("column %s: %w", col.Name(), err)
			}
		}
		if err := col.Decode(r, a.rows()); err != nil {
			return fmt.Errorf("column %s: %w", col.Name(), err)
		}
		if col.Rows() != a.rows() {
			return fmt.Errorf("column %s: %d rows after decoding %d", col.Name(), col.Rows(), a.rows())
		}
	}
	return nil
}
