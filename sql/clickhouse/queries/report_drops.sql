-- Success-rate drop days (detection view; read only when it exists).
SELECT
    toInt64(script_id), day, toUInt64(total),
    CAST(success_rate AS Nullable(Float64)), CAST(success_rate_low AS Nullable(Float64)),
    CAST(success_rate_high AS Nullable(Float64)), toUInt64(baseline_runs),
    CAST(baseline_rate AS Nullable(Float64)), CAST(baseline_low AS Nullable(Float64)),
    CAST(baseline_high AS Nullable(Float64))
FROM success_rate_drops
WHERE day >= {from:Date32} AND day <= {to:Date32}
  AND ({script:String} = '' OR script_name = {script:String} OR toString(script_id) = {script:String})
ORDER BY script_id, day
