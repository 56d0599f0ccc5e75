package extract

import (
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/scriptstats/scriptstats/transform"
)

// Far times standing for PostgreSQL's ±infinity: they lie outside every
// storable range, so transform rejects or nulls them and counts it.
var (
	minusInfinity = time.Date(-4713, time.January, 1, 0, 0, 0, 0, time.UTC)
	plusInfinity  = time.Date(294276, time.December, 31, 0, 0, 0, 0, time.UTC)
)

// runScanner scans task_log rows into one reused SourceRun.
type runScanner struct {
	run                            transform.SourceRun
	started, finished, created, up pgtype.Timestamptz
	duration                       pgtype.Float8
	failedIndex                    pgtype.Int4
	failedName, errMsg             pgtype.Text
	errBytes                       pgtype.Int8
	// stepsBuf holds each row's steps text in turn (pgx allocated a new
	// slice per row for a []byte destination: ~1 KB a run, the largest
	// allocation of a first load). It grows to the longest text read.
	stepsBuf []byte
}

func (s *runScanner) scan(rows pgx.Rows) (*transform.SourceRun, error) {
	r := &s.run
	if s.stepsBuf == nil {
		// Not nil even empty: PreallocBytes keeps a nil slice for a
		// non-NULL empty text.
		s.stepsBuf = make([]byte, 0, 4096)
	}
	// PreallocBytes copies into the slice when its length suffices, else
	// allocates; SQL NULL leaves it nil.
	steps := pgtype.PreallocBytes(s.stepsBuf[:cap(s.stepsBuf)])
	err := rows.Scan(&r.ID, &r.ScriptID, &r.Status, &s.started, &s.finished, &s.created, &s.up,
		&s.duration, &s.failedIndex, &s.failedName, &s.errMsg, &s.errBytes, &steps)
	if err != nil {
		return nil, err
	}
	if cap(steps) > cap(s.stepsBuf) {
		s.stepsBuf = steps[:0]
	}
	r.StartedAt = nullTime(s.started)
	r.FinishedAt = nullTime(s.finished)
	r.CreatedAt = nullTime(s.created).Time
	r.UpdatedAt = nullTime(s.up).Time
	r.Duration = transform.NullFloat{Float64: s.duration.Float64, Valid: s.duration.Valid}
	r.FailedStepIndex = transform.NullInt32{Int32: s.failedIndex.Int32, Valid: s.failedIndex.Valid}
	r.FailedStepName = transform.NullString{String: s.failedName.String, Valid: s.failedName.Valid}
	r.ErrorMessage = transform.NullString{String: s.errMsg.String, Valid: s.errMsg.Valid}
	r.ErrorMessageBytes = s.errBytes.Int64
	r.Steps = steps // nil for SQL NULL; reused for the next row (RunFunc)
	return r, nil
}

func nullTime(t pgtype.Timestamptz) transform.NullTime {
	if !t.Valid {
		return transform.NullTime{}
	}
	switch t.InfinityModifier {
	case pgtype.Infinity:
		return transform.NullTime{Time: plusInfinity, Valid: true}
	case pgtype.NegativeInfinity:
		return transform.NullTime{Time: minusInfinity, Valid: true}
	}
	return transform.NullTime{Time: t.Time, Valid: true}
}
