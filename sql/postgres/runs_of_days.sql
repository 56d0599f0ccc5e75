-- Runs whose coalesce(started_at, created_at) lies in [$2, $3), in no
-- particular order: what a backfill rewrites. runs_between.sql without its
-- ORDER BY, which made PostgreSQL sort every row of the range with its steps
-- (an external sort to disk of the whole table for a backfill of every day)
-- for a reader that does not need the order.
WHERE (started_at >= $2 AND started_at < $3)
   OR (started_at IS NULL AND created_at >= $2 AND created_at < $3)
