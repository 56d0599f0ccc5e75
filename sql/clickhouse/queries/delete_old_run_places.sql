-- The places of runs whose months retention dropped (lightweight delete:
-- run_places is ordered by run id, not partitioned by day).
DELETE FROM run_places WHERE day < {before:Date32}
