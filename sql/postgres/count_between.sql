-- How many runs a backfill of [$1, $2) will read, for its progress display.
SELECT count(*)
FROM task_log
WHERE (started_at >= $1 AND started_at < $2)
   OR (started_at IS NULL AND created_at >= $1 AND created_at < $2);
