package load

import (
	"context"

	sqlfiles "github.com/scriptstats/scriptstats/sql"
	"github.com/scriptstats/scriptstats/transform"
)

// Location is one place (script, day group) of a run in runs_state.
type Location struct {
	RunID int64
	Key   transform.GroupKey
}

var statusClassNames = [...]string{
	transform.StatusUnfinished: "unfinished",
	transform.StatusSuccess:    "success",
	transform.StatusFailed:     "failed",
	transform.StatusTimeout:    "timeout",
	transform.StatusCancelled:  "cancelled",
	transform.StatusOther:      "other",
}

// WriteRuns writes runs at their places and tombstones the given old
// places, in the crash-safe order of a pass (AddPlaces, InsertRuns,
// RemovePlaces). Callers journal the affected groups first.
func (s *Sink) WriteRuns(ctx context.Context, runs []transform.Run, gone []Location, version uint64) error {
	if err := s.AddPlaces(ctx, runs, version); err != nil {
		return err
	}
	if err := s.InsertRuns(ctx, runs, gone, version); err != nil {
		return err
	}
	return s.RemovePlaces(ctx, gone, version)
}

// InsertRuns writes runs_state: the runs at their places and a tombstone
// at each gone place.
func (s *Sink) InsertRuns(ctx context.Context, runs []transform.Run, gone []Location, version uint64) error {
	return s.retry(ctx, func() error { return s.insertRuns(ctx, runs, gone, version) })
}

func (s *Sink) insertRuns(ctx context.Context, runs []transform.Run, gone []Location, version uint64) error {
	batch, err := s.conn.PrepareBatch(ctx, sqlfiles.ClickHouseInsertRuns)
	if err != nil {
		return sinkErrorf("clickhouse insert runs: %w", err)
	}
	defer batch.Abort()
	var packed []byte
	for i := range runs {
		r := &runs[i]
		packed = encodeSteps(packed, r.Steps)
		n := len(r.Steps)
		idx := make([]int32, n)
		names := make([]*string, n)
		statuses := make([]string, n)
		durs := make([]*float64, n)
		errs := make([]*string, n)
		for j := range r.Steps {
			st := &r.Steps[j]
			idx[j] = st.Index
			names[j] = strPtr(st.Name)
			statuses[j] = st.Status
			durs[j] = floatPtr(st.Duration)
			errs[j] = strPtr(st.Error)
		}
		err := batch.Append(
			r.ScriptID, r.Day.Time(), r.ID, r.Status, statusClassNames[r.Class],
			r.OrderedAt.UnixMicro(), r.CreatedAt.UnixMicro(), r.UpdatedAt.UnixMicro(),
			transform.ClampMicro(r.FinishedOrLatest()).UnixMicro(),
			timePtr(r.StartedAt), timePtr(r.FinishedAt),
			floatPtr(r.ReportedDuration), floatPtr(r.Duration),
			int32Ptr(r.FailedStepIndex), strPtr(r.FailedStepName), strPtr(r.ErrorMessage),
			idx, names, statuses, durs, errs,
			string(packed), version, uint8(0),
		)
		if err != nil {
			return sinkErrorf("clickhouse insert runs: run %d: %w", r.ID, err)
		}
	}
	for _, g := range gone {
		err := batch.Append(
			g.Key.ScriptID, g.Key.Day.Time(), g.RunID, "", "unfinished",
			int64(0), int64(0), int64(0), int64(0),
			nil, nil, nil, nil, nil, nil, nil,
			[]int32{}, []*string{}, []string{}, []*float64{}, []*string{},
			"", version, uint8(1),
		)
		if err != nil {
			return sinkErrorf("clickhouse insert runs: tombstone of run %d: %w", g.RunID, err)
		}
	}
	if err := batch.Send(); err != nil {
		return sinkErrorf("clickhouse insert runs: %w", err)
	}
	return nil
}
