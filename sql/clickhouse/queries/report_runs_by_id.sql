SELECT run_id, script_id, day, status, started_at, duration, error_message
FROM runs
WHERE run_id IN {ids:Array(Int64)}
