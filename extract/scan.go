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
	steps                          []byte
}

func (s *runScanner) scan(rows pgx.Rows) (*transform.SourceRun, error) {
	r := &s.run
	s.steps = s.steps[:0]
	err := rows.Scan(&r.ID, &r.ScriptID, &r.Status, &s.started, &s.finished, &s.created, &s.up,
		&s.duration, &s.failedIndex, &s.failedName, &s.errMsg, &s.errBytes, &s.steps)
	if err != nil {
		return nil, err
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
	r.Steps = s.steps // nil for SQL NULL
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
