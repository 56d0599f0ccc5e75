package extract

import (
	"context"
	"time"

	sqlfiles "github.com/scriptstats/scriptstats/sql"
)

// Activity is what the source says, just before a pass's snapshot, about
// the transactions that snapshot will not see: each was open when this was
// read (its start is OldestStart or later, or it is prepared) or began
// after ReadAt. schedules/watermark.go turns it into the next pass's bound.
type Activity struct {
	// ReadAt is the database clock when this was read.
	ReadAt time.Time
	// InRecovery: the source is a hot standby. Its sessions do not write;
	// the primary's, which do, cannot be seen from here.
	InRecovery bool
	// ReplayAt is, on a standby, the commit time of the last transaction
	// replayed (zero when unknown or on a primary): the data is as of then.
	ReplayAt time.Time
	// OldestStart is the start of the oldest open transaction of this
	// database that the job's role can see (zero: none open), and
	// OldestSession says whose it is, for the operator.
	OldestStart   time.Time
	OldestSession string
	// HiddenSessions counts sessions of this database whose transaction
	// start the role may not see (it lacks pg_read_all_stats).
	HiddenSessions int64
	// Prepared lists the prepared transactions of this database (their
	// start is not shown by PostgreSQL).
	Prepared []PreparedXact
}

// PreparedXact is a transaction prepared for two-phase commit.
type PreparedXact struct {
	// Xid is its 32-bit transaction id.
	Xid        int64
	PreparedAt time.Time
}

// readActivity reads the Activity on a connection of its own, outside any
// snapshot (pg_stat_activity is not transactional; read inside a
// transaction it would be cached at first access).
func (s *Source) readActivity(ctx context.Context) (Activity, error) {
	var (
		a          Activity
		replayAt   *time.Time
		oldest     *time.Time
		xids       []int64
		preparedAt []time.Time
	)
	err := s.pool.QueryRow(ctx, sqlfiles.PostgresActivity).Scan(
		&a.ReadAt, &a.InRecovery, &replayAt, &oldest, &a.OldestSession, &a.HiddenSessions, &xids, &preparedAt)
	if err != nil {
		return a, sourceErrorf("postgres read activity: %w", err)
	}
	if replayAt != nil {
		a.ReplayAt = replayAt.UTC()
	}
	if oldest != nil {
		a.OldestStart = oldest.UTC()
	}
	a.ReadAt = a.ReadAt.UTC()
	for i, x := range xids {
		a.Prepared = append(a.Prepared, PreparedXact{Xid: x, PreparedAt: preparedAt[i].UTC()})
	}
	return a, nil
}
