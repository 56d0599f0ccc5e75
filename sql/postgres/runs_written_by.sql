-- Runs whose current version was written by one of the given transactions
-- (32-bit xids: xid8 mod 2^32, what the xmin system column holds) and that
-- the updated_at range read misses. Used for transactions of unknown age
-- that committed after the previous pass: a sequential scan that returns
-- only their rows, instead of re-reading the whole history. xmin needs
-- only SELECT on the table.
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
WHERE xmin::text::bigint = ANY($1)
  AND updated_at < $2;
