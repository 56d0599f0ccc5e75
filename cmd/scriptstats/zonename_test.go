package main

import (
	"strings"
	"testing"

	"github.com/scriptstats/scriptstats/deploy/teststack"
	sqlfiles "github.com/scriptstats/scriptstats/sql"
)

// TestEquivalentZoneNames: data loaded with --timezone UTC is served by
// passes given Etc/UTC or Zulu (the same zone by another name); a zone
// with other offsets is still refused. The state keeps the first name.
func TestEquivalentZoneNames(t *testing.T) {
	t.Parallel()
	e := newJobEnv(t, teststack.Postgres(t), teststack.ClickHouse(t))
	e.exec(sqlfiles.Postgres("reference_schema"))
	e.exec(`INSERT INTO scripts (id, name) VALUES (1, 'z');
INSERT INTO task_log (id, script_id, status, started_at, finished_at, duration, created_at)
VALUES (1, 1, 'success', '2026-11-10 23:30Z', '2026-11-10 23:31Z', 60, '2026-11-10 23:30Z')`)
	e.migrate()
	e.must("run")
	for _, tz := range []string{"Etc/UTC", "Zulu", "Etc/GMT"} {
		e.must("run", "--timezone", tz)
		e.must("backfill", "--timezone", tz, "--from", "2026-11-10", "--to", "2026-11-11")
		e.must("verify", "--timezone", tz, "--from", "2026-11-10", "--to", "2026-11-11")
	}
	if st := e.jobState(); !strings.Contains(st, `"timezone":"UTC"`) {
		t.Errorf("state after passes under other names of UTC: %s", st)
	}
	assertOneLineFailure(t, e.cli(nil, "run", "--timezone", "Europe/London"), 1, "time zone differs", "--timezone UTC")
	assertOneLineFailure(t, e.cli(nil, "verify", "--timezone", "Europe/London", "--from", "2026-11-10", "--to", "2026-11-10"), 1, "time zone differs")
}
