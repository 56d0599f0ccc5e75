package load_test

import (
	"context"
	"testing"
	"time"

	"github.com/scriptstats/scriptstats/load"
	"github.com/scriptstats/scriptstats/transform"
)

// TestWriteGroupsLargeBatch: a batch of more groups than the driver's
// blocks hold (sent on a connection of its own, in several blocks of one
// INSERT) lands whole, every group with its own figures, and as one part
// in groups_state and in groups_for_views — ClickHouse squashed the
// blocks of the INSERT, as it did the single block before.
func TestWriteGroupsLargeBatch(t *testing.T) {
	dsn, sink := migrated(t)
	ctx := context.Background()
	const n = 2345 // two full blocks of 1,000 and a partial one
	day := transform.DayOf(time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC), time.UTC)
	groups := make([]load.Group, n)
	var wantTotal, wantSuccess uint64
	for i := range groups {
		total, success := uint64(i%17+1), uint64(i%5)
		if success > total {
			success = total
		}
		wantTotal += total
		wantSuccess += success
		groups[i] = load.Group{Key: transform.GroupKey{ScriptID: int64(i + 1), Day: day}, HasDay: true,
			Day: transform.ScriptDay{Total: total, Success: success}}
	}
	if err := sink.WriteGroups(ctx, groups, 7); err != nil {
		t.Fatal(err)
	}
	conn := openConn(t, dsn)
	var rows, total, success, ids uint64
	if err := conn.QueryRow(ctx, "SELECT count(), sum(total), sum(success), uniqExact(script_id) FROM groups_state FINAL WHERE _version = 7").
		Scan(&rows, &total, &success, &ids); err != nil {
		t.Fatal(err)
	}
	if rows != n || ids != n || total != wantTotal || success != wantSuccess {
		t.Fatalf("groups_state: %d rows, %d scripts, total %d, success %d; want %d, %d, %d, %d", rows, ids, total, success, n, n, wantTotal, wantSuccess)
	}
	for _, table := range []string{"groups_state", "groups_for_views"} {
		var parts, partRows uint64
		if err := conn.QueryRow(ctx, "SELECT count(), sum(rows) FROM system.parts WHERE database = currentDatabase() AND table = ? AND active", table).
			Scan(&parts, &partRows); err != nil {
			t.Fatal(err)
		}
		if parts != 1 || partRows != n {
			t.Fatalf("%s: %d parts of %d rows; want the INSERT's one part of %d", table, parts, partRows, n)
		}
	}
}
