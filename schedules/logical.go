package schedules

import (
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pglogrepl"

	"github.com/scriptstats/scriptstats/extract"
	"github.com/scriptstats/scriptstats/load"
	"github.com/scriptstats/scriptstats/transform"
)

// slotLagWarning is the WAL a slot may hold back before a pass warns.
const slotLagWarning = 1 << 30

// The logical source (--source logical). The first pass creates the slot
// on a replication connection, exporting its snapshot, and loads the whole
// history from that snapshot: exactly what precedes the slot's stream.
// Each later pass reads the WAL end, decodes (without consuming) the
// changes committed before it, reads the touched runs in a snapshot taken
// after that — their current state, deletes included — loads them, writes
// its state, and only then advances the slot to that WAL end. A pass
// killed anywhere before the advance leaves the slot where it was: the
// next pass decodes the same changes again and rewrites the same runs,
// which is idempotent (versioned rows; a run read twice is the same run).

// logicalFirstSnapshot replaces the pass's snapshot by the snapshot a new
// slot exports.
func (j *Job) logicalFirstSnapshot(ctx context.Context, p *pass) (pglogrepl.LSN, error) {
	// A new slot waits for every running transaction to end, the pass's
	// own snapshot (which holds a transaction id) included: end it first.
	_ = p.snap.Close(ctx)
	p.snap = nil
	conn, name, start, err := extract.NewSlotSnapshot(ctx, j.PGDSN, *j.Slot)
	if err != nil {
		return 0, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	snap, err := j.Source.BeginAt(ctx, name)
	if err != nil {
		return 0, err
	}
	p.snap = snap
	return start, nil
}

// logicalChanges reads the slot up to the current WAL end, then opens the
// pass's snapshot (after: it sees every change decoded), and returns the
// reader of the touched runs.
func (j *Job) logicalChanges(ctx context.Context, p *pass, sum *Summary, loader *runLoader) (pglogrepl.LSN, func(context.Context) error, error) {
	status, err := j.Source.SlotStatus(ctx, *j.Slot)
	if err != nil {
		return 0, nil, err
	}
	if err := status.Check(*j.Slot); err != nil {
		return 0, nil, err
	}
	sum.SlotLagBytes = status.LagBytes
	if status.LagBytes > slotLagWarning {
		j.Log.Warn().Str("slot", j.Slot.Name).Int64("slot_lag_bytes", status.LagBytes).
			Msg("the replication slot holds back much WAL on the source: run passes more often, or check that they succeed")
	}
	upTo := status.WALEnd
	changes, err := j.Source.PeekChanges(ctx, *j.Slot, upTo)
	if err != nil {
		return 0, nil, err
	}
	j.Log.Info().Str("slot", j.Slot.Name).Str("from", status.Confirmed.String()).Str("up_to", upTo.String()).
		Int64("changes", changes.Messages).Int("runs", len(changes.RunIDs)).Msg("read the replication slot")
	ids := changes.RunIDs
	if changes.Truncated {
		// Every stored run may be gone: read them all again by id, with
		// those the stream touched since.
		stored, err := j.Sink.StoredRunIDs(ctx)
		if err != nil {
			return 0, nil, err
		}
		j.Log.Warn().Int("stored_runs", len(stored)).Msg("task_log was truncated at the source: every stored run is read again")
		ids = slices.Compact(slices.Sorted(slices.Values(append(stored, ids...))))
	}
	// The snapshot must see every change decoded: take it now.
	_ = p.snap.Close(ctx)
	p.snap = nil
	snap, err := j.Source.Begin(ctx)
	if err != nil {
		return 0, nil, err
	}
	p.snap = snap
	read := func(ctx context.Context) error {
		const chunk = 10000
		for start := 0; start < len(ids); start += chunk {
			part := ids[start:min(start+chunk, len(ids))]
			found := make(map[int64]bool, len(part))
			err := p.snap.RunsByID(ctx, part, j.Limits.ErrorBytes, func(src *transform.SourceRun) error {
				found[src.ID] = true
				return loader.addSource(ctx, src)
			})
			if err != nil {
				return err
			}
			for _, id := range part {
				if !found[id] {
					if err := loader.addGone(ctx, id); err != nil {
						return err
					}
				}
			}
		}
		return nil
	}
	return upTo, read, nil
}

// advanceSlot confirms the slot once ClickHouse holds the pass's state.
func (j *Job) advanceSlot(ctx context.Context, st load.State) error {
	if st.Logical == nil {
		return nil
	}
	lsn, err := pglogrepl.ParseLSN(st.Logical.LSN)
	if err != nil {
		return fmt.Errorf("stored slot position %q: %w", st.Logical.LSN, err)
	}
	return j.Source.AdvanceSlot(ctx, *j.Slot, lsn)
}
