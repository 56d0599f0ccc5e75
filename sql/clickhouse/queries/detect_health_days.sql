-- The live groups of some scripts from a day on (the step health window
-- and the days after it), with their versions: a day summary is current
-- only while its group_version is its group's version
-- (0014_health_days.sql). Read apart from the summaries and matched in the
-- job: a JOIN of the two cost more than both reads.
SELECT script_id, day, _version
FROM groups_state FINAL
WHERE _is_deleted = 0 AND script_id IN {ids:Array(Int64)} AND day >= {from:Date32}
ORDER BY script_id, day
