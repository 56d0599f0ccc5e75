-- The live groups of some scripts from a day on (the step health window
-- and the days after it), each with its version and, when one was computed
-- against that version, its step summary (present = 1): a summary of
-- another version is stale and not returned (0014_health_days.sql).
SELECT
    g.script_id, g.day, g._version, s.present, s.runs,
    s.first_at_us, s.first_run_id, s.last_at_us, s.last_run_id,
    s.step_index, s.step_executions, s.step_failures, s.step_flips, s.step_first_at_us,
    s.step_first_failed, s.step_lead, s.step_last_failed, s.step_trail, s.step_trail_at_us,
    s.step_failures_before_trail, s.step_first_failure, s.step_first_failure_at_us,
    s.step_name, s.step_last_failure_at_us, s.step_last_failure_run_id, s.step_last_error
FROM
(
    SELECT script_id, day, _version
    FROM groups_state FINAL
    WHERE _is_deleted = 0 AND script_id IN {ids:Array(Int64)} AND day >= {from:Date32}
) AS g
LEFT JOIN
(
    SELECT *, toUInt8(1) AS present
    FROM health_days_state FINAL
    WHERE _is_deleted = 0 AND script_id IN {ids:Array(Int64)} AND day >= {from:Date32}
) AS s ON s.script_id = g.script_id AND s.day = g.day AND s.group_version = g._version
ORDER BY g.script_id, g.day
SETTINGS join_use_nulls = 0
