-- The rows of runs_state in each group journaled after the last completed
-- pass, in group order: an estimate of the runs the relink reads for the
-- group (no FINAL: a superseded version or a tombstone counts too, which
-- only makes a chunk smaller), read when there are too many groups for one
-- relink statement (load/links.go, Relink and chunkEnd). Only the key columns are
-- read.
SELECT script_id, day, count() AS runs
FROM runs_state
WHERE (script_id, day) IN (SELECT script_id, day FROM pending_groups WHERE pass_version > {after:UInt64})
GROUP BY script_id, day
ORDER BY script_id, day
