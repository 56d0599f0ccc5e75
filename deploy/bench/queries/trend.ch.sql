-- 90-day trend of one script from the script_daily view.
SELECT
    day, total, success, failed, timeout, cancelled, other, success_rate,
    duration_count, invalid_duration, duration_avg, duration_min, duration_max,
    duration_p50, duration_p90, duration_p95, duration_p99,
    success_duration_avg, success_duration_p50, success_duration_p95
FROM script_daily
WHERE script_id = {script:Int64} AND day BETWEEN {from:Date32} AND {to:Date32}
ORDER BY day
