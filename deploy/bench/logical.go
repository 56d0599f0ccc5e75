package main

import (
	"context"
	"fmt"

	"github.com/scriptstats/scriptstats/extract"
)

// The incremental pass with --source logical (issue 13), beside the cursor
// pass of the same repetitions: after the cursor measurements, the same
// ClickHouse database is switched to a replication slot (`migrate --source
// logical`, then a first logical pass, which loads everything again from
// the slot's snapshot: unmeasured), then -reps times: new runs at the
// source and a measured logical pass. The slot and the publication are
// dropped at the end, so that no slot holds WAL on the shared server.
func (h *harness) logicalIncremental(ctx context.Context, src *source, label, chDB, chDSN string, reps int, sr *SizeResult) (err error) {
	slot := extract.SlotFor(chDB)
	defer func() {
		if derr := dropSlot(context.WithoutCancel(ctx), src, slot); err == nil && derr != nil {
			err = derr
		}
		if terr := src.trim(context.WithoutCancel(ctx)); err == nil && terr != nil {
			err = terr
		}
	}()
	if _, err := h.runJob(ctx, src.dsn, chDSN, "migrate", "--source", "logical"); err != nil {
		return err
	}
	args := append([]string{"run", "--source", "logical"}, h.cfg.JobArgs...)
	h.quiet(ctx, label+" logical first pass")
	first, err := h.runJob(ctx, src.dsn, chDSN, args...)
	if err != nil {
		return err
	}
	h.logf("%s: first logical pass (loads everything from the slot's snapshot) %.1fs, %d rows", label, first.Wall, first.Pass.RowsExtracted)
	for rep := 1; rep <= reps; rep++ {
		if err := src.addRuns(ctx, h.cfg.NewRuns, 1000+int64(rep)); err != nil {
			return err
		}
		inc, err := h.runJob(ctx, src.dsn, chDSN, args...)
		if err != nil {
			return err
		}
		if p := inc.Pass; p.Mode != "logical" || p.RunsLoaded < int64(h.cfg.NewRuns) {
			return fmt.Errorf("logical pass: mode %q, %d runs loaded, want logical and >= %d", p.Mode, p.RunsLoaded, h.cfg.NewRuns)
		}
		sr.LogicalIncremental.add(inc.Wall)
		sr.LogicalIncrementalRows.add(float64(inc.Pass.RowsExtracted))
		sr.LogicalIncrementalRSS.add(float64(inc.MaxRSSKiB))
		addPhases(&sr.LogicalIncPhases, inc.Pass)
		h.logf("%s logical %d/%d: incremental %.2fs (%d rows read, %d groups)", label, rep, reps, inc.Wall,
			inc.Pass.RowsExtracted, inc.Pass.GroupsRecomputed)
	}
	return nil
}

func dropSlot(ctx context.Context, src *source, slot extract.Slot) error {
	if _, err := src.pool.Exec(ctx, `SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1`, slot.Name); err != nil {
		return fmt.Errorf("drop replication slot %s: %w", slot.Name, err)
	}
	if _, err := src.pool.Exec(ctx, `DROP PUBLICATION IF EXISTS `+quotePG(slot.Publication)); err != nil {
		return fmt.Errorf("drop publication %s: %w", slot.Publication, err)
	}
	return nil
}
