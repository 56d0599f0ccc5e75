-- The month partitions (YYYYMM) of the per-run tables.
SELECT DISTINCT table, partition_id
FROM system.parts
WHERE database = currentDatabase() AND table IN ? AND active
ORDER BY table, partition_id
