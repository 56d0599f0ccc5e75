package load_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/scriptstats/scriptstats/load"
	sqlfiles "github.com/scriptstats/scriptstats/sql"
	"github.com/scriptstats/scriptstats/transform"
)

func placesOf(t *testing.T, sink *load.Sink, id int64) string {
	t.Helper()
	p, err := sink.Places(context.Background(), []int64{id})
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprint(p[id])
}

func key(script int64, d transform.Day) transform.GroupKey {
	return transform.GroupKey{ScriptID: script, Day: d}
}

// A pass killed between writing a moved run and removing its old place
// leaves both places listed: the next pass that reads the run learns of
// the old one, whatever the source did meanwhile.
func TestPlacesListEveryPlaceUntilRemoved(t *testing.T) {
	_, sink := migrated(t)
	ctx := context.Background()
	d := transform.DayFromDate(2026, 11, 1)
	if err := sink.WriteRuns(ctx, []transform.Run{run(9, 7, d, "success", transform.StatusSuccess)}, nil, 1); err != nil {
		t.Fatal(err)
	}
	if got, want := placesOf(t, sink, 9), fmt.Sprint([]transform.GroupKey{key(7, d)}); got != want {
		t.Fatalf("places after the first write: %s, want %s", got, want)
	}
	// Moved to d+1 and to script 8: new places added, runs written, the
	// pass dies before RemovePlaces.
	moved := run(9, 8, d+1, "success", transform.StatusSuccess)
	gone := []load.Location{{RunID: 9, Key: key(7, d)}}
	if err := sink.AddPlaces(ctx, []transform.Run{moved}, 2); err != nil {
		t.Fatal(err)
	}
	if err := sink.InsertRuns(ctx, []transform.Run{moved}, gone, 2); err != nil {
		t.Fatal(err)
	}
	if got, want := placesOf(t, sink, 9), fmt.Sprint([]transform.GroupKey{key(7, d), key(8, d+1)}); got != want {
		t.Fatalf("places after a killed move: %s, want %s", got, want)
	}
	if err := sink.RemovePlaces(ctx, gone, 3); err != nil {
		t.Fatal(err)
	}
	if got, want := placesOf(t, sink, 9), fmt.Sprint([]transform.GroupKey{key(8, d+1)}); got != want {
		t.Fatalf("places after the removal: %s, want %s", got, want)
	}
}

// A database of the previous version (run_locations, no run_places) gets
// run_places filled from what runs_state holds live, a run left live in
// two groups by the old bug included; run_locations goes; a second migrate
// does not fill again.
func TestMigrationFillsPlacesFromRunsState(t *testing.T) {
	dsn, sink := migrated(t)
	ctx := context.Background()
	conn := openConn(t, dsn)
	// Back to the previous version's schema.
	migrations, err := sqlfiles.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range append([]string{"DROP TABLE run_places", "DELETE FROM schema_migrations WHERE version = 3"}, migrations[0].Statements...) {
		if err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%.60s: %v", q, err)
		}
	}
	if n := count(t, dsn, "SELECT count() FROM system.tables WHERE database = currentDatabase() AND name = 'run_locations'"); n != 1 {
		t.Fatal("the old schema must have run_locations")
	}
	d := transform.DayFromDate(2026, 5, 4)
	// Run 1 live at d and at d+1 (the old bug), run 2 at d, run 3 moved
	// from d to d+2 (tombstone at d).
	if err := sink.InsertRuns(ctx, []transform.Run{run(1, 7, d, "success", transform.StatusSuccess), run(2, 7, d, "failed", transform.StatusFailed), run(3, 7, d, "failed", transform.StatusFailed)}, nil, 10); err != nil {
		t.Fatal(err)
	}
	if err := sink.InsertRuns(ctx, []transform.Run{run(1, 7, d+1, "success", transform.StatusSuccess), run(3, 7, d+2, "failed", transform.StatusFailed)}, []load.Location{{RunID: 3, Key: key(7, d)}}, 11); err != nil {
		t.Fatal(err)
	}
	if _, err := load.Migrate(ctx, dsn); err != nil {
		t.Fatal(err)
	}
	want := map[int64]string{
		1: fmt.Sprint([]transform.GroupKey{key(7, d), key(7, d+1)}),
		2: fmt.Sprint([]transform.GroupKey{key(7, d)}),
		3: fmt.Sprint([]transform.GroupKey{key(7, d+2)}),
	}
	for id, w := range want {
		if got := placesOf(t, sink, id); got != w {
			t.Errorf("run %d: places %s, want %s", id, got, w)
		}
	}
	if n := count(t, dsn, "SELECT count() FROM system.tables WHERE database = currentDatabase() AND name = 'run_locations'"); n != 0 {
		t.Error("run_locations still exists after the upgrade")
	}
	raw := count(t, dsn, "SELECT count() FROM run_places")
	if raw != 4 {
		t.Errorf("run_places: %d rows, want 4", raw)
	}
	if _, err := load.Migrate(ctx, dsn); err != nil {
		t.Fatal(err)
	}
	if n := count(t, dsn, "SELECT count() FROM run_places"); n != raw {
		t.Errorf("a second migrate filled run_places again: %d rows, had %d", n, raw)
	}
}
