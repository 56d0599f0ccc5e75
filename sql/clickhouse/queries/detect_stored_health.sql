-- The steps of some scripts that have a step_health row.
SELECT script_id, step_index
FROM step_health_state FINAL
WHERE _is_deleted = 0 AND script_id IN {ids:Array(Int64)}
