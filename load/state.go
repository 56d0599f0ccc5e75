package load

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	sqlfiles "github.com/scriptstats/scriptstats/sql"
)

// State is the job's memory between passes, stored as one JSON row in
// job_state so that it changes atomically.
type State struct {
	// Timezone the days were computed in; a pass in another zone is refused.
	Timezone string `json:"timezone"`
	// Since is the first day loaded (empty: the whole history). Runs of
	// earlier days are ignored by incremental passes.
	Since string `json:"since,omitempty"`
	// CompletedVersion is the version of the last pass that finished; groups
	// journaled by later (crashed) passes are recomputed by the next one.
	CompletedVersion uint64 `json:"completed_version"`
	// Watermark is where the next incremental pass starts; nil before the
	// first full load completed.
	Watermark *Watermark `json:"watermark,omitempty"`
	// LastPassAt is the source time of the last completed pass.
	LastPassAt time.Time `json:"last_pass_at"`
	// Logical is where the replication slot's stream was read up to
	// (--source logical); nil before the first logical pass.
	Logical *LogicalPosition `json:"logical,omitempty"`
	// RunsKeptFrom is the first day whose runs are stored (--keep-runs-days):
	// earlier months were dropped, their days are frozen. Empty: every run
	// is kept.
	RunsKeptFrom string `json:"runs_kept_from,omitempty"`
	// ChangeMethod names the change-point options the stored change points
	// were computed with; a pass with other options recomputes every
	// script's (empty: unknown, e.g. written by an older version).
	ChangeMethod string `json:"change_method,omitempty"`
}

// LogicalPosition is a replication slot and the WAL position up to which
// ClickHouse holds the effect of its changes.
type LogicalPosition struct {
	Slot string `json:"slot"`
	LSN  string `json:"lsn"`
}

// Watermark is the source snapshot the last incremental pass read.
type Watermark struct {
	SnapshotTime time.Time `json:"snapshot_time"`
	Xmin         int64     `json:"xmin"`
	Xmax         int64     `json:"xmax"`
	// Marker is the transaction id the pass took right after its snapshot
	// (0 when the source could not give one, e.g. a hot standby).
	Marker int64 `json:"marker"`
	// InProgress lists the transactions running at the snapshot.
	InProgress []int64 `json:"in_progress,omitempty"`
	// Markers is the recent history of (marker, snapshot time), oldest
	// first: a transaction id above a marker was assigned after that time.
	Markers []MarkerAt `json:"markers,omitempty"`
	// Horizon is no later than the start of any transaction the snapshot
	// did not see (schedules/watermark.go); zero with HorizonComplete
	// means unknown (read everything), zero without it an older state.
	Horizon time.Time `json:"horizon,omitzero"`
	// HorizonComplete: every such transaction was accounted for (a primary,
	// every session visible). Otherwise the markers are used as well.
	HorizonComplete bool `json:"horizon_complete,omitempty"`
	// Prepared are the transactions prepared at the snapshot with a bound
	// on their start, kept while they stay prepared.
	Prepared []PreparedSince `json:"prepared,omitempty"`
}

// PreparedSince is a prepared transaction (32-bit id) and a time no later
// than its start (zero: unknown).
type PreparedSince struct {
	Xid   int64     `json:"xid"`
	Since time.Time `json:"since"`
}

// MarkerAt is one pass's marker transaction id and snapshot time.
type MarkerAt struct {
	Xid  int64     `json:"xid"`
	Time time.Time `json:"time"`
}

const stateKey = "state"

// ReadState returns the stored state; ok is false when there is none (an
// empty database).
func (s *Sink) ReadState(ctx context.Context) (st State, ok bool, err error) {
	err = s.retry(ctx, func() (err error) {
		st, ok, err = s.readState(ctx)
		return err
	})
	return st, ok, err
}

func (s *Sink) readState(ctx context.Context) (st State, ok bool, err error) {
	rows, err := s.conn.Query(ctx, sqlfiles.ClickHouseSelectState)
	if err != nil {
		return st, false, sinkErrorf("clickhouse read state: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var key, value string
		if err := rows.Scan(&key, &value); err != nil {
			return st, false, sinkErrorf("clickhouse read state: %w", err)
		}
		if key != stateKey {
			continue
		}
		if err := json.Unmarshal([]byte(value), &st); err != nil {
			return st, false, sinkErrorf("clickhouse state is corrupt: %w", err)
		}
		ok = true
	}
	if err := rows.Err(); err != nil {
		return st, false, sinkErrorf("clickhouse read state: %w", err)
	}
	return st, ok, nil
}

// WriteState stores the state with the given version. It is the last write
// of a pass: until it lands, the next pass redoes this one.
func (s *Sink) WriteState(ctx context.Context, st State, version uint64) error {
	return s.retry(ctx, func() error { return s.writeState(ctx, st, version) })
}

func (s *Sink) writeState(ctx context.Context, st State, version uint64) error {
	b, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("encode state: %w", err)
	}
	batch, err := s.conn.PrepareBatch(ctx, sqlfiles.ClickHouseInsertState)
	if err != nil {
		return sinkErrorf("clickhouse write state: %w", err)
	}
	if err := batch.Append(stateKey, string(b), version); err != nil {
		return sinkErrorf("clickhouse write state: %w", err)
	}
	if err := batch.Send(); err != nil {
		return sinkErrorf("clickhouse write state: %w", err)
	}
	return nil
}

// MaxVersion returns the highest version written by any pass, a killed
// one included (0 on an empty database).
func (s *Sink) MaxVersion(ctx context.Context) (uint64, error) {
	var v uint64
	err := s.retry(ctx, func() error {
		if err := s.conn.QueryRow(ctx, sqlfiles.ClickHouseSelectMaxVersion).Scan(&v); err != nil {
			return sinkErrorf("clickhouse read versions: %w", err)
		}
		return nil
	})
	return v, err
}
