-- sum/count, not avg(): PostgreSQL's avg(float8) also sums squares, which
-- overflows on durations like 1e300.
SELECT
    script_id,
    day::text,
    count(*) AS total,
    count(*) FILTER (WHERE status = 'success') AS success,
    count(*) FILTER (WHERE status = 'failed') AS failed,
    count(*) FILTER (WHERE status = 'timeout') AS timeout,
    count(*) FILTER (WHERE status = 'cancelled') AS cancelled,
    count(*) FILTER (WHERE status NOT IN ('success', 'failed', 'timeout', 'cancelled')) AS other,
    (count(*) FILTER (WHERE status = 'success'))::float8 / count(*) AS success_rate,
    count(*) FILTER (WHERE valid) AS duration_count,
    count(*) FILTER (WHERE NOT valid) AS invalid_duration,
    sum(d) FILTER (WHERE valid) / nullif(count(*) FILTER (WHERE valid), 0) AS duration_avg,
    min(d) FILTER (WHERE valid) AS duration_min,
    max(d) FILTER (WHERE valid) AS duration_max,
    percentile_disc(0.5) WITHIN GROUP (ORDER BY d) FILTER (WHERE valid) AS duration_p50,
    percentile_disc(0.9) WITHIN GROUP (ORDER BY d) FILTER (WHERE valid) AS duration_p90,
    percentile_disc(0.95) WITHIN GROUP (ORDER BY d) FILTER (WHERE valid) AS duration_p95,
    percentile_disc(0.99) WITHIN GROUP (ORDER BY d) FILTER (WHERE valid) AS duration_p99,
    sum(d) FILTER (WHERE valid AND status = 'success') / nullif(count(*) FILTER (WHERE valid AND status = 'success'), 0) AS success_duration_avg,
    percentile_disc(0.5) WITHIN GROUP (ORDER BY d) FILTER (WHERE valid AND status = 'success') AS success_duration_p50,
    percentile_disc(0.95) WITHIN GROUP (ORDER BY d) FILTER (WHERE valid AND status = 'success') AS success_duration_p95
FROM ref_counted
GROUP BY script_id, day
ORDER BY script_id, day;
