SELECT step_index, step_name, status, duration, error
FROM run_steps
WHERE run_id = {run_id:Int64}
