SELECT
    script_id, day, total, success, failed, timeout, cancelled, other, success_rate,
    duration_count, invalid_duration, duration_avg, duration_min, duration_max,
    duration_p50, duration_p90, duration_p95, duration_p99,
    success_duration_avg, success_duration_p50, success_duration_p95
FROM script_daily
WHERE day >= {from:Date32} AND day <= {to:Date32}
ORDER BY script_id, day
