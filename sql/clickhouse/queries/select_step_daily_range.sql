SELECT script_id, day, step_index, step_name, attempts, failures, failure_rate, last_failure_at, last_error
FROM step_daily
WHERE day >= {from:Date32} AND day <= {to:Date32}
ORDER BY script_id, day, step_index
