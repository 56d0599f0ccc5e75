-- The stored change points of some scripts (their series keys), and their
-- series' quiet marks (ordered_at_us 2^63 − 1; migration 0012).
SELECT script_id, step_index, ordered_at_us, run_id, quiet_from_us, quiet_from_run_id
FROM duration_changes_state FINAL
WHERE _is_deleted = 0 AND script_id IN {ids:Array(Int64)}
ORDER BY script_id, step_index, ordered_at_us, run_id
