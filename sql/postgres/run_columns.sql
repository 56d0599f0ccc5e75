-- The columns every run read takes, for the queries named runs_*.sql,
-- which append their WHERE clause. $1 is how many characters of
-- error_message to read: a huge text is cut in the database so that it
-- never crosses the wire whole; its full length is read beside it.
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
FROM task_log
