-- 90-day trend of one script, computed from task_log (CONTRACT.md section 2):
-- the script_daily row of each day. $1 script id, $2 and $3 the first and the
-- day after the last day (timestamptz, midnight UTC).
WITH r AS (
    SELECT
        (coalesce(started_at, created_at) AT TIME ZONE 'UTC')::date AS day,
        CASE WHEN status IN ('success', 'failed', 'timeout', 'cancelled') THEN status ELSE 'other' END AS cls,
        coalesce(duration, extract(epoch FROM finished_at - started_at)::float8) AS d
    FROM task_log
    WHERE script_id = $1
      AND status NOT IN ('pending', 'queued', 'running')
      AND coalesce(started_at, created_at) >= $2
      AND coalesce(started_at, created_at) < $3
), v AS (
    -- Valid durations: not null, not NaN (greater than every number in
    -- PostgreSQL), not infinite, not negative.
    SELECT day, cls, CASE WHEN d >= 0 AND d < 'Infinity'::float8 THEN d END AS d
    FROM r
)
SELECT
    day,
    count(*) AS total,
    count(*) FILTER (WHERE cls = 'success') AS success,
    count(*) FILTER (WHERE cls = 'failed') AS failed,
    count(*) FILTER (WHERE cls = 'timeout') AS timeout,
    count(*) FILTER (WHERE cls = 'cancelled') AS cancelled,
    count(*) FILTER (WHERE cls = 'other') AS other,
    (count(*) FILTER (WHERE cls = 'success'))::float8 / count(*) AS success_rate,
    count(d) AS duration_count,
    count(*) - count(d) AS invalid_duration,
    avg(d) AS duration_avg,
    min(d) AS duration_min,
    max(d) AS duration_max,
    percentile_disc(0.5) WITHIN GROUP (ORDER BY d) AS duration_p50,
    percentile_disc(0.9) WITHIN GROUP (ORDER BY d) AS duration_p90,
    percentile_disc(0.95) WITHIN GROUP (ORDER BY d) AS duration_p95,
    percentile_disc(0.99) WITHIN GROUP (ORDER BY d) AS duration_p99,
    avg(d) FILTER (WHERE cls = 'success') AS success_duration_avg,
    percentile_disc(0.5) WITHIN GROUP (ORDER BY d) FILTER (WHERE cls = 'success') AS success_duration_p50,
    percentile_disc(0.95) WITHIN GROUP (ORDER BY d) FILTER (WHERE cls = 'success') AS success_duration_p95
FROM v
GROUP BY day
ORDER BY day
