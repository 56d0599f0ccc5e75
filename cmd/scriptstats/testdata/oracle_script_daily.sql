-- script_daily: one row per script and day with counted runs (contract
-- section 2). Averages are sums in numeric over the count, not avg():
-- PostgreSQL's avg(float8) also sums squares, which overflows on durations
-- like 1e300, and a float8 sum overflows on two durations near the largest
-- float8. Percentiles are percentile_disc, the contract's nearest rank.
SELECT
    script_id,
    day::text AS day,
    min(script_name) AS script_name,
    count(*) AS total,
    count(*) FILTER (WHERE status = 'success') AS success,
    count(*) FILTER (WHERE status = 'failed') AS failed,
    count(*) FILTER (WHERE status = 'timeout') AS timeout,
    count(*) FILTER (WHERE status = 'cancelled') AS cancelled,
    count(*) FILTER (WHERE status NOT IN ('success', 'failed', 'timeout', 'cancelled')) AS other,
    (count(*) FILTER (WHERE status = 'success'))::float8 / count(*) AS success_rate,
    pg_temp.ref_wilson(count(*) FILTER (WHERE status = 'success'), count(*), false) AS success_rate_low,
    pg_temp.ref_wilson(count(*) FILTER (WHERE status = 'success'), count(*), true) AS success_rate_high,
    count(duration) AS duration_count,
    count(*) - count(duration) AS invalid_duration,
    (sum(duration::numeric) / nullif(count(duration), 0))::float8 AS duration_avg,
    min(duration) AS duration_min,
    max(duration) AS duration_max,
    percentile_disc(0.5) WITHIN GROUP (ORDER BY duration) AS duration_p50,
    percentile_disc(0.9) WITHIN GROUP (ORDER BY duration) AS duration_p90,
    percentile_disc(0.95) WITHIN GROUP (ORDER BY duration) AS duration_p95,
    percentile_disc(0.99) WITHIN GROUP (ORDER BY duration) AS duration_p99,
    (sum(duration::numeric) FILTER (WHERE status = 'success')
        / nullif(count(duration) FILTER (WHERE status = 'success'), 0))::float8 AS success_duration_avg,
    percentile_disc(0.5) WITHIN GROUP (ORDER BY duration) FILTER (WHERE status = 'success') AS success_duration_p50,
    percentile_disc(0.95) WITHIN GROUP (ORDER BY duration) FILTER (WHERE status = 'success') AS success_duration_p95
FROM ref_runs
WHERE counted
GROUP BY script_id, day
