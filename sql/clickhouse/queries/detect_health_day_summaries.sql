-- The stored step summaries of some scripts' days from a day on
-- (0014_health_days.sql); the job uses one only when its group_version is
-- its group's current version (detect_health_days.sql).
SELECT
    script_id, day, group_version, runs,
    first_at_us, first_run_id, last_at_us, last_run_id,
    step_index, step_executions, step_failures, step_flips, step_first_at_us,
    step_first_failed, step_lead, step_last_failed, step_trail, step_trail_at_us,
    step_failures_before_trail, step_first_failure, step_first_failure_at_us,
    step_name, step_last_failure_at_us, step_last_failure_run_id, step_last_error
FROM health_days_state FINAL
WHERE _is_deleted = 0 AND script_id IN {ids:Array(Int64)} AND day >= {from:Date32}
