-- The counted runs of some scripts from a day on, in the order of the
-- duration series (coalesce(started_at, created_at), run id), with only what
-- the series and the change-point rows need: the run's status class and
-- duration, its steps packed (agg_steps: index, status, name; the errors of
-- failed steps come along, the only texts) and their durations (in the same
-- order). No error message, no other times. runs_state is ordered by
-- (script_id, day, run_id) and partitioned by month, so this is one key range
-- per script and the months before from are not opened.
SELECT script_id, day, run_id, status_class, ordered_at_us, duration, agg_steps, step_duration
FROM runs_state FINAL
WHERE _is_deleted = 0
  AND status_class != 'unfinished'
  AND script_id IN {ids:Array(Int64)}
  AND day >= {from:Date32}
ORDER BY script_id, ordered_at_us, run_id
SETTINGS max_block_size = 4096
