-- Runs whose coalesce(started_at, created_at) lies in [$1, $2): the runs of
-- a range of days. Written as two index-friendly arms rather than one
-- expression so that indexes on started_at and created_at can serve it.
-- Sorted by script and time so that a reader can cut it into (script, day)
-- groups as it streams.
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
    left(error_message, $3) AS error_message,
    octet_length(error_message) AS error_message_bytes,
    steps::text AS steps
FROM task_log
WHERE (started_at >= $1 AND started_at < $2)
   OR (started_at IS NULL AND created_at >= $1 AND created_at < $2)
ORDER BY script_id, coalesce(started_at, created_at), id;
