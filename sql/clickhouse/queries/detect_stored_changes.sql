-- The stored change points of some scripts (their series keys), their
-- series' quiet marks (ordered_at_us 2^63 − 1, run_id 0; migration 0012) and
-- the scripts' change tails (the same ordered_at_us, run_id 1; migration
-- 0017). runs_before and runs_after: a change point whose samples reach a
-- tail's runs is kept as stored when its samples are the same
-- (schedules/detect_changes.go, keepStored).
--
-- max_block_size 8: the tails are ~50 KB each (10 MB for 200 scripts at 1M
-- runs); in blocks of 65,536 rows the client grew one buffer to the whole
-- answer, copying it ~20 times (40–120 ms); in blocks of 8 rows the read
-- took 21–30 ms (docs/performance.md, "Ninth round").
SELECT script_id, step_index, ordered_at_us, run_id, quiet_from_us, quiet_from_run_id, tail, runs_before, runs_after
FROM duration_changes_state FINAL
WHERE _is_deleted = 0 AND script_id IN {ids:Array(Int64)}
ORDER BY script_id, step_index, ordered_at_us, run_id
SETTINGS max_block_size = 8
