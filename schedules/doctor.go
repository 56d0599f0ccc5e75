package schedules

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/scriptstats/scriptstats/extract"
	"github.com/scriptstats/scriptstats/load"
)

// Check statuses of `scriptstats doctor`.
const (
	CheckOK   = "ok"
	CheckWarn = "warn" // holds only if something the job cannot see is true
	CheckFail = "FAIL" // does not hold here
	CheckNA   = "n/a"  // does not apply to this configuration
)

// Check is one line of `scriptstats doctor`: a guarantee or a requirement,
// whether it holds here, and on what it rests.
type Check struct {
	Name    string `json:"name"`
	Status  string `json:"status"`
	Detail  string `json:"detail"`
	RestsOn string `json:"rests_on,omitempty"`
}

// DoctorInput is what `scriptstats doctor` could learn; an error stands for
// what it could not.
type DoctorInput struct {
	Source     extract.Facts
	SourceErr  error
	ZoneName   string
	Zone       *time.Location
	ZoneProbes []time.Time // instants whose wall-clock time PostgreSQL gave
	ZoneLocal  []string    // in ZoneLocal (extract.Source.LocalTimes)
	Lookback   time.Duration
	// Slot is set with --source logical, with what the source says of it.
	Slot       *extract.Slot
	SlotStatus extract.SlotStatus
	SlotErr    error
	// Sink: its version, whether its schema is current, the job state.
	SinkVersion string
	SinkErr     error
	SchemaErr   error
	State       load.State
	HasState    bool
}

// minClickHouse is the oldest ClickHouse the views run on (SQL SECURITY
// DEFINER views: 24.2).
var minClickHouse = [2]int{24, 2}

// Diagnose turns what doctor learned into its checks, in a fixed order.
func Diagnose(in DoctorInput) []Check {
	var out []Check
	add := func(name, status, detail, restsOn string) {
		out = append(out, Check{Name: name, Status: status, Detail: detail, RestsOn: restsOn})
	}
	f := in.Source
	if in.SourceErr != nil {
		add("source", CheckFail, in.SourceErr.Error(), "")
	} else {
		status, detail := CheckOK, fmt.Sprintf("PostgreSQL %s, role %s", f.Version, f.Role)
		if f.VersionNum < extract.MinServerVersion {
			status, detail = CheckFail, detail+": PostgreSQL 13 or later is required"
		}
		add("source", status, detail, "")
		switch {
		case !f.TablesFound:
			add("source privileges", CheckFail, "tables task_log and scripts are not both in the search path of the --pg-dsn database", "")
		case !f.SelectTaskLog || !f.SelectScripts:
			add("source privileges", CheckFail, "the role cannot SELECT task_log and scripts: GRANT SELECT ON task_log, scripts TO "+f.Role, "")
		case f.SchemaError != nil:
			add("source privileges", CheckFail, f.SchemaError.Error(), "")
		default:
			add("source privileges", CheckOK, "SELECT on task_log and scripts; every column the job reads has a type it reads", "")
		}
		if in.Slot != nil {
			out = append(out, logicalChecks(in)...)
		} else {
			out = append(out, incrementalCheck(f, in.Lookback))
			out = append(out, stampingCheck(f, in.Lookback))
			add("deletes", CheckOK, "a run deleted at the source leaves the views at the next backfill covering its day (--source cursor)",
				"a backfill of the trailing days on a schedule (the Kubernetes backfill CronJob, or `schedule`)")
		}
		out = append(out, zoneCheck(in))
		if in.Slot == nil {
			logical := fmt.Sprintf("wal_level=%s, REPLICATION attribute: %v", f.WalLevel, f.Replication || f.Superuser)
			add("logical source", CheckNA, logical+" (--source logical is not used)", "")
		}
	}
	switch {
	case in.SinkErr != nil:
		add("sink", CheckFail, in.SinkErr.Error(), "")
	default:
		status, detail := CheckOK, "ClickHouse "+in.SinkVersion
		if !versionAtLeast(in.SinkVersion, minClickHouse) {
			status, detail = CheckFail, detail+fmt.Sprintf(": ClickHouse %d.%d or later is required (SQL SECURITY DEFINER views)", minClickHouse[0], minClickHouse[1])
		}
		add("sink", status, detail, "")
		switch {
		case in.SchemaErr != nil:
			add("sink schema", CheckFail, in.SchemaErr.Error(), "")
		case !in.HasState:
			add("sink schema", CheckOK, "up to date; no pass has run yet", "")
		case in.State.Timezone != in.ZoneName:
			add("sink schema", CheckFail, fmt.Sprintf("days were computed in %s, --timezone is %s", in.State.Timezone, in.ZoneName), "")
		default:
			add("sink schema", CheckOK, "up to date; last pass read the source as of "+in.State.LastPassAt.UTC().Format(time.RFC3339), "")
		}
		add("exact views", CheckOK, "every view is recomputed from all runs of each changed (script, day); a killed pass is finished by the next",
			"the journal of changed groups and versioned rows in ClickHouse (docs/design.md)")
	}
	return out
}

func incrementalCheck(f extract.Facts, lookback time.Duration) Check {
	c := Check{Name: "incremental guarantee"}
	kind, why := guaranteeIssue(f.Activity, lookback)
	switch {
	case kind == IssueStandby:
		c.Status, c.Detail = CheckFail, why
		c.RestsOn = "--lookback alone, and the last replayed commit's time"
	case kind == IssueHiddenSessions || (!f.Superuser && !f.ReadAllStats):
		c.Status = CheckFail
		c.Detail = why
		if c.Detail == "" {
			c.Detail = "the role lacks pg_read_all_stats: sessions of other roles will hide when their transactions began"
		}
		c.Detail += "; fix: GRANT pg_read_all_stats TO " + f.Role
		c.RestsOn = "--lookback and the marker transaction ids: a transaction's stamp at most --lookback before its first write"
	default:
		c.Status = CheckOK
		c.Detail = "every committed insert or update is read by the first pass after its commit"
		c.RestsOn = "a primary; the start time of every open transaction (pg_stat_activity, " + privilegeName(f) + "); updated_at stamped by the database clock or within --lookback (" + lookback.String() + ") of it"
		if f.Activity.OldestStart.IsZero() {
			break
		}
		if age := f.Activity.ReadAt.Sub(f.Activity.OldestStart); age > heldBackWarning {
			c.Status = CheckWarn
			c.Detail += fmt.Sprintf("; a transaction open for %s (%s) makes each pass read back to its start", age.Round(time.Second), f.Activity.OldestSession)
		}
	}
	return c
}

// logicalChecks are the guarantees of --source logical.
func logicalChecks(in DoctorInput) []Check {
	f := in.Source
	c := Check{Name: "logical source", Status: CheckOK,
		RestsOn: "wal_level=logical, the REPLICATION attribute, publication and slot " + in.Slot.Name}
	switch {
	case f.WalLevel != "logical":
		c.Status, c.Detail = CheckFail, fmt.Sprintf("wal_level is %s: set wal_level = logical on the source and restart it", f.WalLevel)
	case !f.Replication && !f.Superuser:
		c.Status, c.Detail = CheckFail, fmt.Sprintf("the role lacks the REPLICATION attribute: ALTER ROLE %s REPLICATION", f.Role)
	case f.InRecovery:
		c.Status, c.Detail = CheckFail, "the source is a hot standby: a logical slot needs the primary (PostgreSQL 16 can decode on a standby; not supported here)"
	case in.SlotErr != nil:
		c.Status, c.Detail = CheckFail, in.SlotErr.Error()
	default:
		if err := in.SlotStatus.Check(*in.Slot); err != nil {
			c.Status, c.Detail = CheckFail, err.Error()
			break
		}
		c.Detail = fmt.Sprintf("slot %s holds back %d bytes of WAL (wal_status %s)", in.Slot.Name, in.SlotStatus.LagBytes, in.SlotStatus.WALStatus)
		if in.SlotStatus.LagBytes > slotLagWarning {
			c.Status = CheckWarn
			c.Detail += ": run passes more often, or check that they succeed"
		}
	}
	inc := Check{Name: "incremental guarantee", Status: c.Status,
		Detail:  "every committed insert, update and delete is read by the first pass after its commit",
		RestsOn: "the replication slot: a pass decodes every change committed before it starts, and confirms the slot only once ClickHouse holds their effect"}
	if c.Status == CheckFail {
		inc.Detail = "does not hold: see logical source"
	}
	del := Check{Name: "deletes", Status: c.Status, Detail: "a run deleted at the source leaves the views at the next pass", RestsOn: inc.RestsOn}
	if c.Status == CheckFail {
		del.Detail = "does not hold: see logical source"
	}
	return []Check{c, inc, del}
}

func privilegeName(f extract.Facts) string {
	if f.Superuser {
		return "superuser"
	}
	return "pg_read_all_stats"
}

func stampingCheck(f extract.Facts, lookback time.Duration) Check {
	c := Check{Name: "updated_at stamping"}
	var dbTriggers []string
	for _, t := range f.StampingTriggers {
		if strings.Contains(t, "UPDATE") && strings.Contains(t, ": database clock") {
			dbTriggers = append(dbTriggers, t)
		}
	}
	if len(dbTriggers) > 0 {
		c.Status = CheckOK
		c.Detail = "stamped by trigger " + strings.Join(dbTriggers, ", ")
		c.RestsOn = "the trigger's function (read, not run, by doctor)"
		return c
	}
	c.Status = CheckWarn
	c.Detail = "no BEFORE UPDATE trigger stamps updated_at with the database clock"
	if f.UpdatedAtDefault != "" {
		c.Detail += " (inserts take the default " + f.UpdatedAtDefault + ")"
	}
	c.RestsOn = fmt.Sprintf("the application setting updated_at on every update, from the database clock or a clock at most --lookback (%s) behind it", lookback)
	return c
}

func zoneCheck(in DoctorInput) Check {
	c := Check{Name: "time zone data", RestsOn: "the zone data built into the binary and PostgreSQL's (recomputations in SQL use PostgreSQL's)"}
	if n, first := zoneMismatch(in.Zone, in.ZoneProbes, in.ZoneLocal); n > 0 {
		c.Status = CheckFail
		c.Detail = fmt.Sprintf("%s: %d instants differ, first %s; update the zone data (tzdata) of one of them", in.ZoneName, n, first)
		return c
	}
	c.Status = CheckOK
	c.Detail = fmt.Sprintf("%s: PostgreSQL and the job agree at %d instants (every change of offset since 1970)", in.ZoneName, len(in.ZoneProbes))
	return c
}

// Failed reports whether any check failed.
func Failed(checks []Check) bool {
	for _, c := range checks {
		if c.Status == CheckFail {
			return true
		}
	}
	return false
}

// versionAtLeast compares "major.minor…" with min; an unparsable version
// fails.
func versionAtLeast(v string, min [2]int) bool {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return false
	}
	major, err1 := strconv.Atoi(parts[0])
	minor, err2 := strconv.Atoi(parts[1])
	if err := errors.Join(err1, err2); err != nil {
		return false
	}
	return major > min[0] || (major == min[0] && minor >= min[1])
}
