package load_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/scriptstats/scriptstats/load"
	"github.com/scriptstats/scriptstats/transform"
)

// TestQuietMarksStayOutOfTheView: a series' quiet mark is written with its
// change points, read back with the run it names, replaced by a later
// version, removed by a tombstone — and never shows in duration_changes.
func TestQuietMarksStayOutOfTheView(t *testing.T) {
	dsn, sink := migrated(t)
	ctx := context.Background()
	series := load.SeriesKey{ScriptID: 7, StepIndex: load.RunSeries}
	at := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	change := load.ChangeRow{Key: load.ChangeKey{Series: series, OrderedAtUS: at.UnixMicro(), RunID: 42},
		Day: transform.DayFromDate(2026, 11, 2), PreviousRunID: 41, ChangedAt: at,
		Change: transform.ChangePoint{RunsBefore: 12, RunsAfter: 12, MedianBefore: 10, MedianAfter: 15, Ratio: 1.5, P: 1e-5, Effect: 0.9, Direction: transform.Slower}}
	mark := load.ChangeRow{Key: load.QuietMarkKey(series), QuietFrom: load.RunKey{OrderedAtUS: at.UnixMicro() + 5_000_000, RunID: 90}}
	if err := sink.WriteChanges(ctx, []load.ChangeRow{change, mark}, nil, 1); err != nil {
		t.Fatal(err)
	}
	read := func() string {
		t.Helper()
		got, err := sink.StoredChanges(ctx, []int64{7})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, c := range got {
			out = append(out, fmt.Sprint(struct {
				Key       load.ChangeKey
				QuietFrom load.RunKey
			}{c.Key, c.QuietFrom}))
		}
		return "[" + strings.Join(out, " ") + "]"
	}
	want := fmt.Sprintf("[{{{7 -2147483648} %d 42} {0 0}} {{{7 -2147483648} 9223372036854775807 0} {%d 90}}]", at.UnixMicro(), at.UnixMicro()+5_000_000)
	if got := read(); got != want {
		t.Fatalf("stored %s, want %s", got, want)
	}
	if n := count(t, dsn, "SELECT count() FROM duration_changes"); n != 1 {
		t.Fatalf("duration_changes: %d rows, want the change point alone", n)
	}
	if n := count(t, dsn, "SELECT count() FROM duration_changes WHERE run_id = 42 AND ratio = 1.5"); n != 1 {
		t.Fatal("the change point is not in the view")
	}
	// A later mark replaces it; then a tombstone removes it.
	mark.QuietFrom = load.RunKey{OrderedAtUS: at.UnixMicro() + 9_000_000, RunID: 95}
	if err := sink.WriteChanges(ctx, []load.ChangeRow{mark}, nil, 2); err != nil {
		t.Fatal(err)
	}
	want = fmt.Sprintf("[{{{7 -2147483648} %d 42} {0 0}} {{{7 -2147483648} 9223372036854775807 0} {%d 95}}]", at.UnixMicro(), at.UnixMicro()+9_000_000)
	if got := read(); got != want {
		t.Fatalf("after the new mark: stored %s, want %s", got, want)
	}
	if err := sink.WriteChanges(ctx, nil, []load.ChangeKey{load.QuietMarkKey(series)}, 3); err != nil {
		t.Fatal(err)
	}
	want = fmt.Sprintf("[{{{7 -2147483648} %d 42} {0 0}}]", at.UnixMicro())
	if got := read(); got != want {
		t.Fatalf("after the tombstone: stored %s, want %s", got, want)
	}
	if n := count(t, dsn, "SELECT count() FROM duration_changes"); n != 1 {
		t.Fatalf("duration_changes: %d rows, want 1", n)
	}
}
