-- Runs whose coalesce(started_at, created_at) lies in [$2, $3): the runs of
-- a range of days. Written as two index-friendly arms rather than one
-- expression so that indexes on started_at and created_at can serve it.
-- Sorted by script and time so that a reader can cut it into (script, day)
-- groups as it streams.
WHERE (started_at >= $2 AND started_at < $3)
   OR (started_at IS NULL AND created_at >= $2 AND created_at < $3)
ORDER BY script_id, coalesce(started_at, created_at), id
