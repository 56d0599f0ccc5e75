SELECT run_id, step_index, step_name, status, duration, error
FROM run_steps
WHERE run_id IN {ids:Array(Int64)}
ORDER BY run_id, step_index
