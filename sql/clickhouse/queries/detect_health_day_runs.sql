-- The counted runs with steps of some (script, day) groups, whole days (the
-- job summarizes them and cuts them to the step health window itself), in
-- key order (no sort here: the job puts each day's runs in series order):
-- the run's time, its failure time, and its steps packed (agg_steps:
-- index, status, name, and the error of failed steps only). ids, from and
-- to bound the key range read.
SELECT script_id, day, run_id, ordered_at_us, failure_at_us, agg_steps
FROM runs_state FINAL
WHERE _is_deleted = 0
  AND status_class != 'unfinished'
  AND script_id IN {ids:Array(Int64)}
  AND day >= {from:Date32} AND day <= {to:Date32}
  AND has({days:Array(Tuple(Int64, Date32))}, (script_id, day))
  AND notEmpty(step_index)
ORDER BY script_id, day, run_id
SETTINGS max_block_size = 4096
