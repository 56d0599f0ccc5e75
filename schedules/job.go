// Package schedules runs the job's passes — the incremental pass, the
// backfill of a range of days, the verification — and the cron schedules
// that trigger them. A pass drives the stages: extract reads the source,
// transform normalizes and aggregates, load writes ClickHouse.
package schedules

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/scriptstats/scriptstats/extract"
	"github.com/scriptstats/scriptstats/transform"
)

// Errors callers branch on (exit codes, retries).
var (
	// ErrLocked: another pass holds the lock.
	ErrLocked = extract.ErrLocked
	// ErrTimezoneChanged: the ClickHouse data was computed in another zone.
	ErrTimezoneChanged = errors.New("time zone differs from the one the data was loaded with")
	// ErrSourceRewound: the source went back in time (restored backup).
	ErrSourceRewound = errors.New("source database went back in time (restored from a backup?)")
)

// Job holds what every pass needs.
type Job struct {
	Source   Source
	Sink     Sink
	Zone     *time.Location
	ZoneName string
	Limits   transform.Limits
	// Lookback is the safety margin of the incremental read (see
	// watermark.go for the guarantee it buys).
	Lookback time.Duration
	// Slot, when set, is the replication slot passes read changes from
	// (--source logical); nil reads by updated_at (--source cursor).
	Slot *extract.Slot
	// PGDSN is the source DSN, for the replication connection that creates
	// a slot (--source logical).
	PGDSN string
	// KeepRunsDays > 0 drops the per-run rows of months older than that
	// many days (retention.go); 0 keeps every run.
	KeepRunsDays int
	// BatchSize is how many runs go into one ClickHouse insert.
	BatchSize int
	// ChangeWindow is w of the change-point scan (--change-window; 0: the
	// default, 12).
	ChangeWindow int
	// ChangeOptions, when set, are the change-point options instead of
	// the defaults with ChangeWindow (tests).
	ChangeOptions *transform.ChangeOptions
	Log           zerolog.Logger
	// Now is the clock, used only to number passes.
	Now func() time.Time
	// Failpoint, when set, is called at every crash window of a pass
	// instead of the SCRIPTSTATS_FAILPOINTS actions (tests inject faults).
	Failpoint   func(ctx context.Context, name string) error
	failpointMu sync.Mutex // one Failpoint call at a time (failpoint.go)
	// changeScriptsChunk, when > 0, replaces the constant of that name
	// (tests: chunks of one or two scripts).
	changeScriptsChunk int
	// Progress, when set, is told how far the run loading of a full load or
	// a backfill is (total: the planner's estimate for a full load, a count
	// for a backfill).
	Progress func(done, total int64)
}

// sameZone reports whether the zone ClickHouse's days were computed in
// (its name, as stored) is the job's: the same name, or another name of a
// zone with the same UTC offsets at every instant (UTC and Etc/UTC; see
// transform.SameZone). The state keeps the name it was loaded with.
func (j *Job) sameZone(stored string) bool {
	if stored == j.ZoneName {
		return true
	}
	loc, err := time.LoadLocation(stored)
	return err == nil && transform.SameZone(loc, j.Zone)
}

// Summary is what one pass did; the last log line of a pass prints it.
type Summary struct {
	PassID           string
	Mode             string // full, incremental, backfill
	RowsExtracted    int64
	RunsLoaded       int64
	RunsDeleted      int64
	RunsMoved        int64
	SkippedBefore    int64 // runs of days before --since
	SkippedFrozen    int64 // runs of days whose runs retention dropped
	GroupsRecomputed int64
	ScriptsChanged   int64
	Issues           transform.Issues
	NewestChange     time.Time
	// SnapshotTime is the source time the pass read at; lag is
	// SnapshotTime − NewestChange.
	SnapshotTime time.Time
	ScanFrom     time.Time
	// GuaranteeIssue is why the incremental guarantee does not hold at
	// this source (IssueStandby, IssueHiddenSessions), "" when it does.
	GuaranteeIssue string
	// HeldBack is how far the oldest open transaction holds the next
	// incremental read back.
	HeldBack time.Duration
	// SlotLagBytes is how much WAL the replication slot held back at the
	// start of the pass (--source logical).
	SlotLagBytes int64
	// Where the time went: setup (lock, state, snapshot, script names),
	// loading runs (extract, normalize, write), recomputing groups, and
	// the run links (beside the recompute and detection in a first load
	// and a backfill: pass.go, complete).
	SetupDuration, LoadDuration, RecomputeDuration, RelinkDuration time.Duration
	Duration                                                       time.Duration
	// Detect is what detection did (detect.go).
	Detect DetectSummary
}

// Log writes the pass's summary line.
func (s *Summary) Log(ev *zerolog.Event, snapshotTime time.Time) {
	ev = ev.Str("pass_id", s.PassID).Str("mode", s.Mode).
		Int64("rows_extracted", s.RowsExtracted).
		Int64("runs_loaded", s.RunsLoaded).
		Int64("runs_deleted", s.RunsDeleted).
		Int64("runs_moved", s.RunsMoved).
		Int64("groups_recomputed", s.GroupsRecomputed).
		Int64("scripts_changed", s.ScriptsChanged)
	if s.SkippedFrozen > 0 {
		ev = ev.Int64("skipped_frozen_days", s.SkippedFrozen)
	}
	if s.SkippedBefore > 0 {
		ev = ev.Int64("skipped_before_since", s.SkippedBefore)
	}
	invalid := zerolog.Dict()
	s.Issues.Each(func(kind string, n int64) { invalid.Int64(kind, n) })
	ev = ev.Dict("invalid", invalid)
	if s.Mode == "logical" || s.SlotLagBytes > 0 {
		ev = ev.Int64("slot_lag_bytes", s.SlotLagBytes)
	}
	ev = ev.Bool("incremental_guarantee", s.GuaranteeIssue == "")
	if s.GuaranteeIssue != "" {
		ev = ev.Str("guarantee_issue", s.GuaranteeIssue)
	}
	if !s.NewestChange.IsZero() && !snapshotTime.IsZero() {
		ev = ev.Dur("lag", snapshotTime.Sub(s.NewestChange))
	}
	ev = ev.Dict("detection", s.Detect.dict())
	ev.Dur("setup_duration", s.SetupDuration).Dur("load_duration", s.LoadDuration).
		Dur("recompute_duration", s.RecomputeDuration).Dur("relink_duration", s.RelinkDuration).
		Dur("duration", s.Duration).Msg("pass finished")
}
