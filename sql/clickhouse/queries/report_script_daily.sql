-- The report's daily series of each script (script_daily has no Wilson
-- columns yet: the report computes the band from success and total).
SELECT
    script_id, script_name, day, total, success, success_rate,
    success_duration_p50, success_duration_p95
FROM script_daily
WHERE day >= {from:Date32} AND day <= {to:Date32}
  AND ({script:String} = '' OR script_name = {script:String} OR toString(script_id) = {script:String})
ORDER BY script_id, day
