-- Per stored group of some scripts, an upper bound of the values each of its
-- duration series has that day: the success runs (the run series: success
-- runs with a valid duration) and, per step, the success attempts
-- (attempts − failures; the step series: those with a valid duration).
-- Detection plans from it how far back a pass must read each script
-- (schedules/detect.go). _version is the group's: a change tail is used
-- only when no group of its days was rewritten after the pass that wrote it
-- (schedules/changetail.go).
--
-- One row per script, its groups packed in one string (load/detection.go,
-- parseSeriesCounts): "day success version[ step:successes]…" per group, ';'
-- between groups, day as days since 1970-01-01. The driver scans Array
-- columns through reflection, a value at a time: one row per group with two
-- arrays was ~70 ms of CPU for the ~70k groups of an incremental pass at 1M
-- runs.
SELECT script_id,
       arrayStringConcat(groupArray(concat(
           toString(toInt32(day)), ' ', toString(success), ' ', toString(_version),
           arrayStringConcat(arrayMap((i, a, f) -> concat(' ', toString(i), ':', toString(a - f)),
                                      step_index, step_attempts, step_failures)))), ';') AS days
FROM groups_state FINAL
WHERE _is_deleted = 0 AND script_id IN {ids:Array(Int64)}
GROUP BY script_id
