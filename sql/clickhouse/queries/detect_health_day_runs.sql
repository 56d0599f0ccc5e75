-- The counted runs with steps of some scripts on some dates, whole days
-- (the job keeps the (script, day) groups it asked for, summarizes them and
-- cuts them to the step health window itself), in key order (no sort here:
-- the job puts each day's runs in series order): the run's time, its
-- failure time, and its steps packed (agg_steps: index, status, name, and
-- the error of failed steps only). The dates are few (normally today and
-- the window's first day): a list of (script, day) pairs tested per row
-- (has() over tuples) cost seconds, and a tuple IN lost the partition
-- pruning.
SELECT script_id, day, run_id, ordered_at_us, failure_at_us, agg_steps
FROM runs_state FINAL
WHERE _is_deleted = 0
  AND status_class != 'unfinished'
  AND script_id IN {ids:Array(Int64)}
  AND day IN {days:Array(Date32)}
  AND notEmpty(step_index)
ORDER BY script_id, day, run_id
SETTINGS max_block_size = 4096
