-- Duration change points (detection view; read only when it exists).
SELECT
    toInt64(script_id), CAST(step_index AS Nullable(Int32)), CAST(step_name AS Nullable(String)),
    toInt64(run_id), CAST(previous_run_id AS Nullable(Int64)),
    CAST(changed_at AS Nullable(DateTime64(6, 'UTC'))), day,
    toUInt64(runs_before), toUInt64(runs_after),
    CAST(median_before AS Nullable(Float64)), CAST(median_after AS Nullable(Float64)),
    CAST(ratio AS Nullable(Float64)), CAST(p_value AS Nullable(Float64)),
    CAST(effect_size AS Nullable(Float64)), toString(direction),
    CAST(top_step_index AS Nullable(Int32)), CAST(top_step_name AS Nullable(String)),
    CAST(top_step_delta AS Nullable(Float64))
FROM duration_changes
WHERE day >= {from:Date32} AND day <= {to:Date32}
  AND ({script:String} = '' OR script_name = {script:String} OR toString(script_id) = {script:String})
ORDER BY script_id, day, step_index
