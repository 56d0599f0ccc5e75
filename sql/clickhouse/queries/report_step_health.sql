-- Step health as of the latest pass (detection view; read only when it exists).
SELECT
    toInt64(script_id), toInt32(step_index), CAST(step_name AS Nullable(String)), toString(state),
    CAST(since AS Nullable(DateTime64(6, 'UTC'))), toUInt64(executions), toUInt64(failures),
    CAST(failure_rate AS Nullable(Float64)), CAST(failure_rate_low AS Nullable(Float64)),
    CAST(failure_rate_high AS Nullable(Float64)), CAST(flip_rate AS Nullable(Float64)),
    CAST(last_failure_at AS Nullable(DateTime64(6, 'UTC'))), CAST(last_error AS Nullable(String))
FROM step_health
WHERE 1 = 1
  AND ({script:String} = '' OR script_name = {script:String} OR toString(script_id) = {script:String})
ORDER BY script_id, step_index
