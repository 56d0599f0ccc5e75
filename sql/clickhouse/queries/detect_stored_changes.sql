-- The stored change points of some scripts (their series keys).
SELECT script_id, step_index, ordered_at_us, run_id
FROM duration_changes_state FINAL
WHERE _is_deleted = 0 AND script_id IN {ids:Array(Int64)}
