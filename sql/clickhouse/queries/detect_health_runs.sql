-- The counted runs of some scripts from a day on, in series order
-- (coalesce(started_at, created_at), run id), with what step health needs:
-- the run's time, its failure time, and its steps packed (agg_steps: index,
-- status, name, and the error of failed steps only) — one string a run
-- instead of five arrays.
SELECT script_id, run_id, ordered_at_us, failure_at_us, agg_steps
FROM runs_state FINAL
WHERE _is_deleted = 0
  AND status_class != 'unfinished'
  AND script_id IN {ids:Array(Int64)}
  AND day >= {from:Date32}
ORDER BY script_id, ordered_at_us, run_id
SETTINGS max_block_size = 4096
