-- Which detection objects (CONTRACT.md sections 2b and 3) this database has:
-- the report shows a detection section only when its view exists.
SELECT 'table' AS kind, name
FROM system.tables
WHERE database = currentDatabase() AND name IN ('success_rate_drops', 'duration_changes', 'step_health')
UNION ALL
SELECT 'column' AS kind, concat(table, '.', name) AS name
FROM system.columns
WHERE database = currentDatabase()
  AND table IN ('script_daily', 'step_daily')
  AND name IN ('success_rate_low', 'success_rate_high', 'failure_rate_low', 'failure_rate_high')
