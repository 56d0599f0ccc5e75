package schedules

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/scriptstats/scriptstats/extract"
	"github.com/scriptstats/scriptstats/load"
)

func healthyInput() DoctorInput {
	utc := time.UTC
	return DoctorInput{
		Source: extract.Facts{
			VersionNum: 150018, Version: "15.18", Role: "job", ReadAllStats: true, TablesFound: true,
			SelectTaskLog: true, SelectScripts: true, WalLevel: "replica",
			StampingTriggers: []string{"touch (UPDATE): database clock"},
			Activity:         extract.Activity{ReadAt: t0},
		},
		ZoneName: "UTC", Zone: utc, ZoneProbes: []time.Time{t0}, ZoneLocal: []string{"2026-11-20T12:00:00"}, Lookback: 10 * time.Minute,
		SinkVersion: "26.7.2", HasState: true, State: load.State{Timezone: "UTC", LastPassAt: t0},
	}
}

func statusOf(checks []Check, name string) Check {
	for _, c := range checks {
		if c.Name == name {
			return c
		}
	}
	return Check{}
}

func TestDoctorHealthy(t *testing.T) {
	checks := Diagnose(healthyInput())
	if Failed(checks) {
		t.Fatalf("healthy input failed: %+v", checks)
	}
	for _, name := range []string{"source", "source privileges", "incremental guarantee", "updated_at stamping", "time zone data", "sink", "sink schema", "exact views"} {
		if c := statusOf(checks, name); c.Status != CheckOK {
			t.Errorf("%s: %+v, want ok", name, c)
		}
	}
}

func TestDoctorFailures(t *testing.T) {
	cases := []struct {
		name   string
		change func(*DoctorInput)
		check  string
		status string
		says   string
	}{
		{"old PostgreSQL", func(in *DoctorInput) { in.Source.VersionNum = 120017 }, "source", CheckFail, "PostgreSQL 13"},
		{"no SELECT", func(in *DoctorInput) { in.Source.SelectScripts = false }, "source privileges", CheckFail, "GRANT SELECT ON task_log, scripts TO job"},
		{"no tables", func(in *DoctorInput) { in.Source.TablesFound = false }, "source privileges", CheckFail, "search path"},
		{"schema", func(in *DoctorInput) { in.Source.SchemaError = errors.New("column task_log.steps is missing") }, "source privileges", CheckFail, "steps"},
		{"standby", func(in *DoctorInput) { in.Source.InRecovery, in.Source.Activity.InRecovery = true, true }, "incremental guarantee", CheckFail, "hot standby"},
		{"no pg_read_all_stats", func(in *DoctorInput) { in.Source.ReadAllStats = false }, "incremental guarantee", CheckFail, "GRANT pg_read_all_stats TO job"},
		{"hidden sessions", func(in *DoctorInput) { in.Source.ReadAllStats = false; in.Source.Activity.HiddenSessions = 2 }, "incremental guarantee", CheckFail, "2 session(s)"},
		{"old transaction", func(in *DoctorInput) {
			in.Source.Activity.OldestStart, in.Source.Activity.OldestSession = t0.Add(-2*time.Hour), "pid 7"
		}, "incremental guarantee", CheckWarn, "pid 7"},
		{"application stamping", func(in *DoctorInput) { in.Source.StampingTriggers, in.Source.UpdatedAtDefault = nil, "now()" }, "updated_at stamping", CheckWarn, "now()"},
		{"insert-only trigger", func(in *DoctorInput) { in.Source.StampingTriggers = []string{"t (INSERT ): database clock"} }, "updated_at stamping", CheckWarn, "no BEFORE UPDATE"},
		{"zone data differs", func(in *DoctorInput) { in.ZoneLocal = []string{"2026-11-20T13:00:00"} }, "time zone data", CheckFail, "PostgreSQL's 2026-11-20T13:00:00"},
		{"sink down", func(in *DoctorInput) { in.SinkErr = errors.New("clickhouse connect: refused") }, "sink", CheckFail, "refused"},
		{"old ClickHouse", func(in *DoctorInput) { in.SinkVersion = "23.8.1" }, "sink", CheckFail, "24.2"},
		{"not migrated", func(in *DoctorInput) { in.SchemaErr = load.ErrNotMigrated }, "sink schema", CheckFail, "migrate"},
		{"zone changed", func(in *DoctorInput) { in.State.Timezone = "Europe/Paris" }, "sink schema", CheckFail, "Europe/Paris"},
	}
	for _, c := range cases {
		in := healthyInput()
		c.change(&in)
		got := statusOf(Diagnose(in), c.check)
		if got.Status != c.status || !strings.Contains(got.Detail, c.says) {
			t.Errorf("%s: %s = %+v, want %s saying %q", c.name, c.check, got, c.status, c.says)
		}
		if Failed(Diagnose(in)) != (c.status == CheckFail) {
			t.Errorf("%s: Failed = %v", c.name, !(c.status == CheckFail))
		}
	}
}
