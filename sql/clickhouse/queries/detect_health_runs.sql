-- The counted runs with steps of some scripts whose time is in the step
-- health window or after it (ordered_at_us ≥ win_from_us; day ≥ from, a day
-- on or before the window's first, is the key range), in key order (no sort
-- here: the job puts each script's runs in series order): the run's time,
-- its failure time, and its steps packed (agg_steps: index, status, name,
-- and the error of failed steps only). The job summarizes each step's
-- attempts (load/healthsteps.go).
SELECT script_id, run_id, ordered_at_us, failure_at_us, agg_steps
FROM runs_state FINAL
WHERE _is_deleted = 0
  AND status_class != 'unfinished'
  AND script_id IN {ids:Array(Int64)}
  AND day >= {from:Date32}
  AND ordered_at_us >= {win_from_us:Int64}
  AND notEmpty(step_index)
ORDER BY script_id, day, run_id
SETTINGS max_block_size = 4096
