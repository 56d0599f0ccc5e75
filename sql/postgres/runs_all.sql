-- Every run, for the first pass on an empty ClickHouse.
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
    left(error_message, $1) AS error_message,
    octet_length(error_message) AS error_message_bytes,
    steps::text AS steps
FROM task_log;
