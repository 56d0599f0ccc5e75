-- Per stored group of some scripts, an upper bound of the values each of its
-- duration series has that day: the success runs (the run series: success
-- runs with a valid duration) and, per step, the success attempts
-- (attempts − failures; the step series: those with a valid duration).
-- Detection plans from it how far back a pass must read each script
-- (schedules/detect.go). One row per (script, day): groups_state is small.
-- _version is the group's: a change tail is used only when no group of its
-- days was rewritten after the pass that wrote it (schedules/changetail.go).
SELECT script_id, day, success, step_index,
       arrayMap((a, f) -> a - f, step_attempts, step_failures) AS step_success, _version
FROM groups_state FINAL
WHERE _is_deleted = 0 AND script_id IN {ids:Array(Int64)}
ORDER BY script_id, day
