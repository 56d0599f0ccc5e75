-- Two runs side by side, from the runs view.
SELECT
    run_id, script_id, script_name, day, status, started_at, finished_at, duration,
    failed_step_index, failed_step_name, error_message
FROM runs
WHERE run_id IN {ids:Array(Int64)}
ORDER BY run_id
