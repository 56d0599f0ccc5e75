-- The report's failed-step heatmap: attempts and failures per step and day.
SELECT script_id, step_index, step_name, day, attempts, failures, failure_rate
FROM step_daily
WHERE day >= {from:Date32} AND day <= {to:Date32}
  AND ({script:String} = '' OR script_name = {script:String} OR toString(script_id) = {script:String})
ORDER BY script_id, step_index, day
