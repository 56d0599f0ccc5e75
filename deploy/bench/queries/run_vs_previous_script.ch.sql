-- The same, also filtered by the run's script (the window's partition key),
-- which ClickHouse can push below the window.
SELECT run_id, previous_run_id, status, previous_status, duration, previous_duration, duration_delta, first_divergent_step
FROM run_vs_previous
WHERE script_id = {script:Int64} AND run_id = {run:Int64}
