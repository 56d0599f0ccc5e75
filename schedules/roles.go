package schedules

import (
	"context"
	"time"

	"github.com/jackc/pglogrepl"

	"github.com/scriptstats/scriptstats/extract"
	"github.com/scriptstats/scriptstats/load"
	"github.com/scriptstats/scriptstats/transform"
)

// The roles a pass needs of the source and of the sink: what schedules
// uses, declared here. extract.Source plays Source through FromExtract;
// *load.Sink plays Sink as it is. Tests play both with fakes
// (fakes_test.go) to check the pass order and every crash window without
// services.

// Source is the source database.
type Source interface {
	TryLock(ctx context.Context, key int64) (Lock, error)
	// Begin reads the open transactions, then takes a snapshot.
	Begin(ctx context.Context) (Snapshot, error)
	// BeginAt takes a snapshot exported by a new replication slot.
	BeginAt(ctx context.Context, exported string) (Snapshot, error)
	SlotStatus(ctx context.Context, sl extract.Slot) (extract.SlotStatus, error)
	PeekChanges(ctx context.Context, sl extract.Slot, upTo pglogrepl.LSN) (extract.Changes, error)
	AdvanceSlot(ctx context.Context, sl extract.Slot, lsn pglogrepl.LSN) error
	LocalTimes(ctx context.Context, zone string, instants []time.Time) ([]string, error)
}

// Lock is the pass lock, held until Release.
type Lock interface {
	Release(ctx context.Context) error
}

// Snapshot is one consistent read of the source.
type Snapshot interface {
	Info() extract.SnapshotInfo
	Close(ctx context.Context) error
	CheckSchema(ctx context.Context) error
	Scripts(ctx context.Context) (map[int64]string, error)
	ChangedRuns(ctx context.Context, since time.Time, errorChars int, fn extract.RunFunc) error
	RunsWrittenBy(ctx context.Context, xids []int64, before time.Time, errorChars int, fn extract.RunFunc) error
	AllRuns(ctx context.Context, errorChars int, fn extract.RunFunc) error
	RunsBetween(ctx context.Context, from, to time.Time, errorChars int, fn extract.RunFunc) error
	RunsOfDays(ctx context.Context, from, to time.Time, errorChars int, fn extract.RunFunc) error
	RunsByID(ctx context.Context, ids []int64, errorChars int, fn extract.RunFunc) error
	CountRunsBetween(ctx context.Context, from, to time.Time) int64
	EstimateRuns(ctx context.Context) int64
}

// Sink is the job's ClickHouse database.
type Sink interface {
	runStore
	Database() string
	CheckSchema(ctx context.Context) error
	ReadState(ctx context.Context) (load.State, bool, error)
	WriteState(ctx context.Context, st load.State, version uint64) error
	MaxVersion(ctx context.Context) (uint64, error)
	Reset(ctx context.Context) error
	SyncScripts(ctx context.Context, names map[int64]string, version uint64) (int, error)
	JournalGroupsOfDays(ctx context.Context, from, to transform.Day, version uint64) error
	PendingGroups(ctx context.Context, after uint64, fn load.GroupFunc) (int, error)
	WriteGroups(ctx context.Context, groups []load.Group, version uint64) error
	StaleRuns(ctx context.Context, from, to transform.Day, version uint64) ([]load.Location, error)
	StoredRunIDs(ctx context.Context) ([]int64, error)
	// Relink rewrites run_links (run_vs_previous) for the journaled groups.
	Relink(ctx context.Context, after, version uint64, afterChunk func() error) (int, error)
	// DropRunsBefore drops the per-run rows of the months before day
	// (--keep-runs-days).
	DropRunsBefore(ctx context.Context, day transform.Day) (int, error)
	// Detection (duration_changes, step_health).
	PendingScripts(ctx context.Context, after uint64) (map[int64]load.DayRange, error)
	WriteDetectionAsOf(ctx context.Context, asOf time.Time, version uint64) error
	// SeriesCounts and ChangeRuns: what the change points are recomputed
	// from (detect_changes.go).
	DetectionScripts(ctx context.Context) ([]int64, error)
	SeriesCounts(ctx context.Context, ids []int64) (map[int64][]load.DayCounts, error)
	ChangeRuns(ctx context.Context, ids []int64, from transform.Day, fn load.RunFunc) error
	StoredChanges(ctx context.Context, ids []int64) ([]load.StoredChange, error)
	WriteChanges(ctx context.Context, rows []load.ChangeRow, gone []load.ChangeKey, version uint64) error
	// HealthDays, HealthDayRuns, WriteHealthDays: what step health is
	// composed from (detect_health.go).
	HealthDays(ctx context.Context, ids []int64, from transform.Day) ([]load.HealthDay, error)
	HealthDayRuns(ctx context.Context, days []transform.GroupKey, fn load.HealthDayFunc) error
	WriteHealthDays(ctx context.Context, rows []load.HealthDayRow, version uint64) error
	HealthDue(ctx context.Context, asOf time.Time) ([]int64, error)
	StoredHealth(ctx context.Context, ids []int64) ([]load.SeriesKey, error)
	WriteHealth(ctx context.Context, rows []load.HealthRow, gone []load.SeriesKey, checks []load.HealthCheck, version uint64) error
	// What verify reads.
	ScriptDaily(ctx context.Context, from, to transform.Day) (*load.Cursor[transform.ScriptDay], error)
	StepDaily(ctx context.Context, from, to transform.Day) (*load.Cursor[transform.StepDay], error)
	Runs(ctx context.Context, from, to transform.Day) (*load.Cursor[load.ViewRun], error)
}

var _ Sink = (*load.Sink)(nil)

// FromExtract makes an extract.Source play Source.
func FromExtract(src *extract.Source) Source { return extractSource{src} }

type extractSource struct{ *extract.Source }

func (s extractSource) TryLock(ctx context.Context, key int64) (Lock, error) {
	l, err := s.Source.TryLock(ctx, key)
	if err != nil {
		return nil, err
	}
	return l, nil
}

func (s extractSource) Begin(ctx context.Context) (Snapshot, error) {
	sn, err := s.Source.Begin(ctx)
	if err != nil {
		return nil, err
	}
	return sn, nil
}

func (s extractSource) BeginAt(ctx context.Context, exported string) (Snapshot, error) {
	sn, err := s.Source.BeginAt(ctx, exported)
	if err != nil {
		return nil, err
	}
	return sn, nil
}
