package load

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/ch-go/proto"
	"github.com/ClickHouse/clickhouse-go/v2/lib/column"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/scriptstats/scriptstats/transform"
)

// insertRunsTypes are runs_state's column types in insert_runs.sql's order.
var insertRunsTypes = []column.Type{
	"Int64", "Date32", "Int64", "String",
	"Enum8('unfinished' = 0, 'success' = 1, 'failed' = 2, 'timeout' = 3, 'cancelled' = 4, 'other' = 5)",
	"Int64", "Int64", "Int64", "Int64",
	"Nullable(DateTime64(6, 'UTC'))", "Nullable(DateTime64(6, 'UTC'))", "Nullable(Float64)", "Nullable(Float64)",
	"Nullable(Int32)", "Nullable(String)", "Nullable(String)",
	"Array(Int32)", "Array(Nullable(String))", "Array(LowCardinality(String))", "Array(Nullable(Float64))", "Array(Nullable(String))",
	"String", "UInt64", "UInt8",
}

// columnBatch is a driver.Batch over the driver's own column types, with
// no connection: what appendTo and decodeInto fill.
type columnBatch struct {
	driver.Batch
	cols []column.Interface
}

type batchColumn struct{ c column.Interface }

func (c batchColumn) Append(v any) error    { _, err := c.c.Append(v); return err }
func (c batchColumn) AppendRow(v any) error { return c.c.AppendRow(v) }

func (b *columnBatch) Column(i int) driver.BatchColumn { return batchColumn{b.cols[i]} }
func (b *columnBatch) Columns() []column.Interface     { return b.cols }

func newColumnBatch(t testing.TB) *columnBatch {
	t.Helper()
	b := &columnBatch{}
	for i, typ := range insertRunsTypes {
		c, err := typ.Column(fmt.Sprint("c", i), &column.ServerContext{})
		if err != nil {
			t.Fatal(err)
		}
		b.cols = append(b.cols, c)
	}
	return b
}

func text(s string) transform.NullString { return transform.NullString{String: s, Valid: true} }
func num(f float64) transform.NullFloat  { return transform.NullFloat{Float64: f, Valid: true} }

// stepRuns are runs whose steps hold every kind of value the arrays carry:
// NULL and empty names and errors, NULL, NaN, negative and infinite
// durations, non-ASCII text, runs without steps.
func stepRuns(from int64) []transform.Run {
	steps := [][]transform.Step{
		{{Index: 1, Name: text("build"), Status: transform.StepSuccess, Duration: num(1.5)},
			{Index: 2, Name: text("tëst ✓"), Status: transform.StepFailed, Duration: num(math.NaN()), Error: text("exit 1")}},
		nil,
		{{Index: -3, Status: transform.StepSkipped}},
		{{Index: 7, Name: text(""), Status: transform.StepFailed, Duration: num(-0.25), Error: text("")},
			{Index: 8, Name: text("deploy"), Status: transform.StepSuccess, Duration: num(math.Inf(1))},
			{Index: 9, Name: text("deploy"), Status: "other status", Duration: num(5e-324)}},
		{},
	}
	runs := make([]transform.Run, len(steps))
	for i := range runs {
		runs[i] = transform.Run{ID: from + int64(i), ScriptID: 3, Day: transform.DayFromDate(2026, 11, 2),
			Status: "success", Class: transform.StatusSuccess, Steps: steps[i]}
	}
	return runs
}

// wantArrays are the rows the driver's array columns must hold for runs,
// built from the steps alone, as the driver's Row gives them back.
func wantArrays(runs []transform.Run, tombstones int) [5][]any {
	var want [5][]any
	add := func(steps []transform.Step) {
		idx, names, statuses, durs, errs := []int32{}, []*string{}, []string{}, []*float64{}, []*string{}
		for _, st := range steps {
			idx = append(idx, st.Index)
			statuses = append(statuses, st.Status)
			names = append(names, nil)
			if st.Name.Valid {
				names[len(names)-1] = &st.Name.String
			}
			errs = append(errs, nil)
			if st.Error.Valid {
				errs[len(errs)-1] = &st.Error.String
			}
			durs = append(durs, nil)
			if st.Duration.Valid {
				durs[len(durs)-1] = &st.Duration.Float64
			}
		}
		for k, v := range []any{idx, names, statuses, durs, errs} {
			want[k] = append(want[k], v)
		}
	}
	for _, r := range runs {
		add(r.Steps)
	}
	for range tombstones {
		add(nil)
	}
	return want
}

// checkArrays compares the batch's step array columns with want, value by
// value (NaN equals NaN, a pointer by what it points to).
func checkArrays(t *testing.T, cols []column.Interface, want [5][]any) {
	t.Helper()
	for k := range want {
		col := cols[firstStepColumn+k]
		if col.Rows() != len(want[k]) {
			t.Fatalf("%s: %d rows, want %d", col.Type(), col.Rows(), len(want[k]))
		}
		for i, w := range want[k] {
			if got := fmt.Sprint(shown(col.Row(i, false))); got != fmt.Sprint(shown(w)) {
				t.Errorf("%s row %d: %s, want %s", col.Type(), i, got, fmt.Sprint(shown(w)))
			}
		}
	}
}

// shown prints pointers as the values they point to, nil as NULL.
func shown(v any) any {
	switch v := v.(type) {
	case []*string:
		out := make([]string, len(v))
		for i, p := range v {
			out[i] = "NULL"
			if p != nil {
				out[i] = fmt.Sprintf("%q", *p)
			}
		}
		return out
	case []*float64:
		out := make([]string, len(v))
		for i, p := range v {
			out[i] = "NULL"
			if p != nil {
				out[i] = fmt.Sprint(math.Float64bits(*p))
			}
		}
		return out
	case []string:
		out := make([]string, len(v))
		for i, s := range v {
			out[i] = fmt.Sprintf("%q", s)
		}
		return out
	}
	return v
}

// The step arrays of a block of several batches (and tombstones) reach
// the driver's columns row for row, and survive the encoding the driver
// sends: the columns read back from that encoding hold the same rows.
func TestStepArraysFillTheDriversColumns(t *testing.T) {
	first, second := stepRuns(1), stepRuns(100)
	steps := newStepArrays()
	batch := newColumnBatch(t)
	for _, runs := range [][]transform.Run{first, second} {
		steps.reserve(runs, 1)
		cols := newRunColumns(len(runs)+1, steps)
		for i := range runs {
			cols.addRun(&runs[i])
		}
		cols.addTombstone(Location{RunID: 99, Key: transform.GroupKey{ScriptID: 3, Day: transform.DayFromDate(2026, 11, 2)}})
		if err := cols.appendTo(batch, 4); err != nil {
			t.Fatal(err)
		}
	}
	if err := steps.decodeInto(batch); err != nil {
		t.Fatal(err)
	}
	want := wantArrays(first, 0)
	tomb := wantArrays(nil, 1)
	rest := wantArrays(second, 0)
	for k := range want {
		want[k] = append(append(append(want[k], tomb[k]...), rest[k]...), tomb[k]...)
	}
	checkArrays(t, batch.cols, want)
	for i, col := range batch.cols {
		if col.Rows() != len(first)+len(second)+2 {
			t.Fatalf("column %d (%s): %d rows, want %d", i, col.Type(), col.Rows(), len(first)+len(second)+2)
		}
	}

	// What the driver sends: each column's state prefix and data, read
	// back into fresh columns.
	sent := newColumnBatch(t)
	for k := range 5 {
		col := batch.cols[firstStepColumn+k]
		var buf proto.Buffer
		if err := col.(column.CustomSerialization).WriteStatePrefix(&buf); err != nil {
			t.Fatal(err)
		}
		col.Encode(&buf)
		r := proto.NewReader(bytes.NewReader(buf.Buf))
		into := sent.cols[firstStepColumn+k]
		if err := into.(column.CustomSerialization).ReadStatePrefix(r); err != nil {
			t.Fatal(err)
		}
		if err := into.Decode(r, col.Rows()); err != nil {
			t.Fatal(err)
		}
	}
	checkArrays(t, sent.cols, want)
}

// A batch whose runs have no step at all (every array empty).
func TestStepArraysWithoutSteps(t *testing.T) {
	runs := stepRuns(1)
	runs = []transform.Run{runs[1], runs[4]}
	steps := newStepArrays()
	steps.reserve(runs, 0)
	batch := newColumnBatch(t)
	cols := newRunColumns(len(runs), steps)
	for i := range runs {
		cols.addRun(&runs[i])
	}
	if err := cols.appendTo(batch, 4); err != nil {
		t.Fatal(err)
	}
	if err := steps.decodeInto(batch); err != nil {
		t.Fatal(err)
	}
	checkArrays(t, batch.cols, wantArrays(runs, 0))
}

// Decoding replaces what a column holds: a batch whose arrays already
// hold rows is refused, not overwritten.
func TestStepArraysRefuseAFilledBatch(t *testing.T) {
	runs := stepRuns(1)
	batch := newColumnBatch(t)
	for range 2 {
		steps := newStepArrays()
		steps.reserve(runs, 0)
		cols := newRunColumns(len(runs), steps)
		for i := range runs {
			cols.addRun(&runs[i])
		}
		if err := steps.decodeInto(batch); err != nil {
			if batch.cols[firstStepColumn].Rows() != len(runs) {
				t.Fatalf("refused, but the column holds %d rows", batch.cols[firstStepColumn].Rows())
			}
			return
		}
	}
	t.Fatal("a batch was given step arrays twice")
}

func BenchmarkRunColumns(b *testing.B) {
	runs := make([]transform.Run, 20_000)
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for i := range runs {
		r := &runs[i]
		r.ID, r.ScriptID, r.Day, r.Status, r.Class = int64(i+1), int64(i%200), transform.DayFromDate(2026, 11, 1+i%28), "success", transform.StatusSuccess
		r.OrderedAt, r.CreatedAt, r.UpdatedAt = t0, t0, t0
		r.StartedAt = transform.NullTime{Time: t0, Valid: true}
		r.Duration = num(3.5)
		if i%5 < 3 { // 60 % of runs with 6–14 steps, as the bench's history
			for j := range 6 + i%9 {
				r.Steps = append(r.Steps, transform.Step{Index: int32(j + 1), Name: text(fmt.Sprint("step name ", j)),
					Status: transform.StepSuccess, Duration: num(float64(j))})
			}
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		batch := newColumnBatch(b)
		steps := newStepArrays()
		steps.reserve(runs, 0)
		cols := newRunColumns(len(runs), steps)
		for i := range runs {
			cols.addRun(&runs[i])
		}
		if err := cols.appendTo(batch, 7); err != nil {
			b.Fatal(err)
		}
		if err := steps.decodeInto(batch); err != nil {
			b.Fatal(err)
		}
	}
}

// step_status's native bytes are what ch-go's own LowCardinality column
// writes for the same rows (state prefix, offsets, dictionary, keys).
func TestStatusColumnAsChGoWritesIt(t *testing.T) {
	for _, rows := range [][][]string{
		{nil, nil},
		{{"failed", "success", "success"}, nil, {"skipped", "failed"}, {"success"}},
		{{"success"}},
		{{"odd status", "success"}, {"odd status"}},
	} {
		a := newStepArrays()
		ref := proto.NewLowCardinality[string](new(proto.ColStr))
		var ends proto.ColUInt64
		for _, statuses := range rows {
			steps := make([]transform.Step, len(statuses))
			for i, s := range statuses {
				steps[i].Status = s
				ref.Values = append(ref.Values, s)
			}
			a.addRun(steps)
			ends = append(ends, uint64(len(ref.Values)))
		}
		arr := &proto.ColArr[string]{Offsets: ends, Data: ref}
		if err := arr.Prepare(); err != nil {
			t.Fatal(err)
		}
		var want proto.Buffer
		arr.EncodeState(&want)
		arr.EncodeColumn(&want)
		got, err := io.ReadAll(io.MultiReader(a.columns()[2]...))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want.Buf) {
			t.Errorf("%q:\n got % x\nwant % x", rows, got, want.Buf)
		}
	}
}

// More distinct statuses than a UInt8 key holds is an error, not a wrong
// key.
func TestStatusColumnRefusesA257thStatus(t *testing.T) {
	a := newStepArrays()
	for i := range 257 {
		a.addRun([]transform.Step{{Status: fmt.Sprint("status ", i)}})
	}
	if err := a.decodeInto(newColumnBatch(t)); err == nil || !strings.Contains(err.Error(), "256") {
		t.Fatalf("257 statuses: %v", err)
	}
}

// A block's columns reused for its next batch hold that batch only: after
// a larger batch with every kind of step, a smaller one (and a tombstone)
// reaches fresh driver columns with nothing of the first.
func TestRunColumnsReusedHoldTheNextBatchOnly(t *testing.T) {
	first := append(stepRuns(1), stepRuns(20)...)
	second := stepRuns(100)[2:4]
	cols := newRunColumns(len(first), newStepArrays())
	for k, runs := range [][]transform.Run{first, second} {
		if k > 0 {
			cols.reset()
		}
		cols.steps.reserve(runs, 1)
		cols.reservePacked(runs)
		for i := range runs {
			cols.addRun(&runs[i])
		}
		tomb := Location{RunID: 99, Key: transform.GroupKey{ScriptID: 3, Day: transform.DayFromDate(2026, 11, 2)}}
		cols.addTombstone(tomb)
		batch := newColumnBatch(t)
		if err := cols.appendTo(batch, 4); err != nil {
			t.Fatal(err)
		}
		if err := cols.steps.decodeInto(batch); err != nil {
			t.Fatal(err)
		}
		want := wantArrays(runs, 0)
		tombs := wantArrays(nil, 1)
		for j := range want {
			want[j] = append(want[j], tombs[j]...)
		}
		checkArrays(t, batch.cols, want)
		ids := batch.cols[2]
		var dec stepDecoder
		for i := range len(runs) + 1 {
			wantID, wantSteps := int64(99), []transform.Step(nil)
			if i < len(runs) {
				wantID, wantSteps = runs[i].ID, runs[i].Steps
			}
			if got := ids.Row(i, false).(int64); got != wantID {
				t.Fatalf("batch %d row %d: run id %d, want %d", k, i, got, wantID)
			}
			packed := batch.cols[21].Row(i, false).(string)
			if i == len(runs) {
				if packed != "" {
					t.Fatalf("batch %d: the tombstone's agg_steps %q", k, packed)
				}
				continue
			}
			got, err := dec.decode(packed, nil)
			if err != nil || len(got) != len(wantSteps) {
				t.Fatalf("batch %d row %d: agg_steps %d steps (%v), want %d", k, i, len(got), err, len(wantSteps))
			}
		}
		if n := batch.cols[0].Rows(); n != len(runs)+1 {
			t.Fatalf("batch %d: %d rows, want %d", k, n, len(runs)+1)
		}
	}
}
