-- Every place (script, day group) where a run may be live in runs_state, in
-- place of run_locations' single location per run (issue #8, item 1).
--
-- Invariant: every live row of runs_state has a live row here. A pass adds
-- a run's new place here BEFORE it writes the run, and removes the old
-- places only AFTER it has written their tombstones in runs_state, so a
-- pass killed anywhere leaves at most extra places here, never a missing
-- one; the next pass that reads the run looks up every live place and
-- tombstones each one that is not the run's place now (docs/design.md,
-- "One pass").
CREATE TABLE IF NOT EXISTS run_places
(
    run_id      Int64,
    script_id   Int64,
    day         Date32,
    _version    UInt64,
    _is_deleted UInt8
)
ENGINE = ReplacingMergeTree(_version, _is_deleted)
ORDER BY (run_id, script_id, day);

-- Upgrade: fill from what runs_state actually holds (not from
-- run_locations, which may be stale: that is the bug this table closes), so
-- a run an older version left live in two groups has both places here and
-- the next pass or backfill that reads it removes the extra copy. Each place
-- keeps its runs_state version, so this never outweighs a newer write of a
-- pass. Runs only until this migration is recorded (migrate re-runs every
-- migration; a full read of runs_state each time would be wasted).
INSERT INTO run_places (run_id, script_id, day, _version, _is_deleted)
SELECT run_id, script_id, day, _version, 0
FROM runs_state FINAL
WHERE _is_deleted = 0
  AND (SELECT count() FROM schema_migrations WHERE version = 3) = 0;

-- run_locations is no longer read or written. Dropping it makes a binary of
-- the previous version that still runs against this database fail at its
-- first batch, with nothing written, instead of writing runs without their
-- places. (0001 creates it again on each migrate of a fresh database; this
-- drops it again.)
DROP TABLE IF EXISTS run_locations;
