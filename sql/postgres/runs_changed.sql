-- Runs written at or after a lower bound (the job's watermark minus its
-- safety margin). Error texts are cut in the database so that a huge one
-- never crosses the wire; their full length is read beside them.
SELECT
    id,
    script_id,
    status,
    started_at,
    finished_at,
    created_at,
    updated_at,
    duration,
    failed_step_index,
    failed_step_name,
    left(error_message, $2) AS error_message,
    octet_length(error_message) AS error_message_bytes,
    steps::text AS steps
FROM task_log
WHERE updated_at >= $1;
