package load_test

import (
	"context"
	"testing"

	"github.com/scriptstats/scriptstats/load"
	"github.com/scriptstats/scriptstats/transform"
)

// TestChangeTailsStayOutOfTheView: a script's change tail is written beside
// its run series' quiet mark, read back whole (the mark with it, apart),
// replaced by a later version, removed by a tombstone — and never shows in
// duration_changes.
func TestChangeTailsStayOutOfTheView(t *testing.T) {
	dsn, sink := migrated(t)
	ctx := context.Background()
	series := load.SeriesKey{ScriptID: 7, StepIndex: load.RunSeries}
	tail := &load.ChangeTail{Version: 5, MaxDay: transform.DayFromDate(2026, 11, 2), Cut: transform.DayFromDate(2026, 11, 3),
		Last:   load.RunKey{OrderedAtUS: 1_700_000_000_000_000, RunID: 12},
		Runs:   []load.RunKey{{OrderedAtUS: 1_690_000_000_000_000, RunID: 10}, {OrderedAtUS: 1_700_000_000_000_000, RunID: 12}},
		Days:   []transform.Day{transform.DayFromDate(2026, 11, 1), transform.DayFromDate(2026, 11, 2)},
		Series: []load.TailSeries{{Step: load.RunSeries, Whole: true, Runs: []int32{0, 1}, Values: []float64{1.5, 0.1 + 0.2}}}}
	mark := load.ChangeRow{Key: load.QuietMarkKey(series), QuietFrom: load.RunKey{OrderedAtUS: 5, RunID: 9}}
	if err := sink.WriteChanges(ctx, []load.ChangeRow{mark, {Key: load.TailKey(7), Tail: load.EncodeTail(tail)}}, nil, 1); err != nil {
		t.Fatal(err)
	}
	read := func() (marks int, tails []*load.ChangeTail) {
		t.Helper()
		got, err := sink.StoredChanges(ctx, []int64{7})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range got {
			switch {
			case c.Key.IsQuietMark():
				if c.Tail != "" || c.QuietFrom != mark.QuietFrom {
					t.Fatalf("the mark came back as %+v", c)
				}
				marks++
			case c.Key.IsTail():
				tl, err := load.DecodeTail(c.Tail)
				if err != nil {
					t.Fatal(err)
				}
				tails = append(tails, tl)
			default:
				t.Fatalf("unexpected row %+v", c)
			}
		}
		return marks, tails
	}
	marks, tails := read()
	if marks != 1 || len(tails) != 1 || tails[0].Version != 5 || tails[0].Series[0].Values[1] != 0.1+0.2 || tails[0].Last != tail.Last {
		t.Fatalf("read back %d marks, tails %+v", marks, tails)
	}
	if n := count(t, dsn, "SELECT count() FROM duration_changes"); n != 0 {
		t.Fatalf("duration_changes: %d rows, want none (a mark and a tail only)", n)
	}
	tail.Version = 6
	if err := sink.WriteChanges(ctx, []load.ChangeRow{{Key: load.TailKey(7), Tail: load.EncodeTail(tail)}}, nil, 2); err != nil {
		t.Fatal(err)
	}
	if _, tails = read(); len(tails) != 1 || tails[0].Version != 6 {
		t.Fatalf("after the new tail: %+v", tails)
	}
	if err := sink.WriteChanges(ctx, nil, []load.ChangeKey{load.TailKey(7)}, 3); err != nil {
		t.Fatal(err)
	}
	if marks, tails = read(); marks != 1 || len(tails) != 0 {
		t.Fatalf("after the tombstone: %d marks, tails %+v", marks, tails)
	}
}
