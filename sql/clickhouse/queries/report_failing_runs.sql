-- The latest failed or timed-out runs of each script in the period
-- (ordered_at: coalesce(started_at, created_at), the order of run_vs_previous).
SELECT run_id, script_id, day, status, started_at, duration, error_message
FROM runs
WHERE day >= {from:Date32} AND day <= {to:Date32}
  AND status IN ('failed', 'timeout')
  AND ({script:String} = '' OR script_name = {script:String} OR toString(script_id) = {script:String})
ORDER BY script_id, ordered_at DESC, run_id DESC
LIMIT {per_script:UInt32} BY script_id
