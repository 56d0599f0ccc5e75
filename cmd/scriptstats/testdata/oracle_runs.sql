-- runs: every stored run in its latest state, whatever its status.
SELECT
    run_id,
    script_id,
    script_name,
    day::text AS day,
    status,
    started_at,
    finished_at,
    duration,
    failed_step_index,
    failed_step_name,
    error_message
FROM ref_runs
