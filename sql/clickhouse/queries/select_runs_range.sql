SELECT
    script_id, day, run_id, status, started_at, finished_at, duration,
    failed_step_index, failed_step_name, error_message
FROM runs
WHERE day >= {from:Date32} AND day <= {to:Date32}
ORDER BY script_id, day, run_id
