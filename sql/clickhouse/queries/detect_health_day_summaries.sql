-- The stored step summaries of some scripts' days from a day on
-- (0014_health_days.sql); the job uses one only when its group_version is
-- its group's current version (detect_health_days.sql).
SELECT script_id, day, group_version, runs, first_at_us, first_run_id, last_at_us, last_run_id, steps
FROM health_days_state FINAL
WHERE _is_deleted = 0 AND script_id IN {ids:Array(Int64)} AND day >= {from:Date32}
