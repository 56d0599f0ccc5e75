package schedules

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/scriptstats/scriptstats/load"
)

// insertSizes records each WriteChanges: its rows and their tail bytes.
type insertSizes struct {
	*fakeSink
	rows, tailBytes []int
}

func (s *insertSizes) WriteChanges(ctx context.Context, rows []load.ChangeRow, gone []load.ChangeKey, v uint64) error {
	n := 0
	for _, r := range rows {
		n += len(r.Tail)
	}
	s.rows, s.tailBytes = append(s.rows, len(rows)), append(s.tailBytes, n)
	return s.fakeSink.WriteChanges(ctx, rows, gone, v)
}

// TestChangeBatchBoundsTails: a batch is written once its change tails
// reach changeBatchTailBytes, long before detectBatch rows, and one
// script's rows are never split across inserts.
func TestChangeBatchBoundsTails(t *testing.T) {
	sink := &insertSizes{fakeSink: newFakeSink()}
	b := &changeBatch{j: &Job{Sink: sink}, version: 7}
	const scripts, tail = 10, 1 << 20 // 1 MiB tails: 4 scripts reach 4 MiB
	ctx := context.Background()
	for id := int64(1); id <= scripts; id++ {
		// A script's rows: a change point, a quiet mark and its tail.
		rows := []load.ChangeRow{
			{Key: load.ChangeKey{Series: load.SeriesKey{ScriptID: id}, OrderedAtUS: 100, RunID: 5}},
			{Key: load.QuietMarkKey(load.SeriesKey{ScriptID: id})},
			{Key: load.TailKey(id), Tail: strings.Repeat("t", tail)},
		}
		if err := b.add(ctx, rows, nil, false); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.add(ctx, nil, nil, true); err != nil {
		t.Fatal(err)
	}
	// 4 MiB of tails after the 4th, 8th script; the last 2 at the end.
	wantRows, wantBytes := []int{12, 12, 6}, []int{4 * tail, 4 * tail, 2 * tail}
	if !slices.Equal(sink.rows, wantRows) || !slices.Equal(sink.tailBytes, wantBytes) {
		t.Fatalf("inserts: rows %v, tail bytes %v; want rows %v, tail bytes %v", sink.rows, sink.tailBytes, wantRows, wantBytes)
	}
	if b.tailBytes != 0 || len(b.rows) != 0 {
		t.Fatalf("after the last write the batch holds %d rows, %d tail bytes", len(b.rows), b.tailBytes)
	}
	if got := len(sink.changes); got != 3*scripts {
		t.Fatalf("stored %d rows, want %d", got, 3*scripts)
	}
}
