-- Heatmap of one script from the step_daily view.
SELECT day, step_index, step_name, attempts, failures, failure_rate
FROM step_daily
WHERE script_id = {script:Int64} AND day BETWEEN {from:Date32} AND {to:Date32}
ORDER BY step_index, day
