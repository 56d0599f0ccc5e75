-- Detection, part 1 (CONTRACT.md section 2b): Wilson intervals on the daily
-- success and failure rates, and the success-rate drops. All are computed at
-- query time from the exact daily counts: nothing to keep in step. At the
-- edges (no success, all successes) the bound is exactly 0 or 1, as the
-- formula gives; floating point would leave ~1e-17. The views keep
-- join_use_nulls = 0 for themselves (a tool may send join_use_nulls = 1: see docs/metabase.md).
-- 1.9208 = z²/2, 0.9604 = z²/4, 3.8416 = z² for z = 1.96.

CREATE OR REPLACE VIEW script_daily SQL SECURITY DEFINER AS
SELECT
    g.script_id AS script_id,
    if(s.present = 1, s.name, concat('(unknown script ', toString(g.script_id), ')')) AS script_name,
    g.day AS day,
    g.total AS total,
    g.success AS success,
    g.failed AS failed,
    g.timeout AS timeout,
    g.cancelled AS cancelled,
    g.other AS other,
    g.success_rate AS success_rate,
    g.duration_count AS duration_count,
    g.invalid_duration AS invalid_duration,
    g.duration_avg AS duration_avg,
    g.duration_min AS duration_min,
    g.duration_max AS duration_max,
    g.duration_p50 AS duration_p50,
    g.duration_p90 AS duration_p90,
    g.duration_p95 AS duration_p95,
    g.duration_p99 AS duration_p99,
    g.success_duration_avg AS success_duration_avg,
    g.success_duration_p50 AS success_duration_p50,
    g.success_duration_p95 AS success_duration_p95,
    -- Wilson score interval of success / total (z = 1.96; CONTRACT.md 2b).
    if(g.success = 0, 0., greatest(0., (p + 1.9208 / n - 1.96 * sqrt(p * (1 - p) / n + 0.9604 / (n * n))) / (1 + 3.8416 / n))) AS success_rate_low,
    if(g.success = g.total, 1., least(1., (p + 1.9208 / n + 1.96 * sqrt(p * (1 - p) / n + 0.9604 / (n * n))) / (1 + 3.8416 / n))) AS success_rate_high
FROM
(
    SELECT *, toFloat64(total) AS n, success / toFloat64(total) AS p
    FROM groups_state FINAL
    WHERE _is_deleted = 0 AND total > 0
) AS g
LEFT JOIN
(
    SELECT script_id, name, toUInt8(1) AS present
    FROM script_names
) AS s ON s.script_id = g.script_id
SETTINGS join_use_nulls = 0;

CREATE OR REPLACE VIEW step_daily SQL SECURITY DEFINER AS
SELECT
    g.script_id AS script_id,
    if(s.present = 1, s.name, concat('(unknown script ', toString(g.script_id), ')')) AS script_name,
    g.step_index AS step_index,
    g.step_name AS step_name,
    g.day AS day,
    g.attempts AS attempts,
    g.failures AS failures,
    g.failure_rate AS failure_rate,
    g.last_failure_at AS last_failure_at,
    g.last_error AS last_error,
    -- Wilson score interval of failures / attempts (z = 1.96).
    if(g.failures = 0, 0., greatest(0., (g.p + 1.9208 / g.n - 1.96 * sqrt(g.p * (1 - g.p) / g.n + 0.9604 / (g.n * g.n))) / (1 + 3.8416 / g.n))) AS failure_rate_low,
    if(g.failures = g.attempts, 1., least(1., (g.p + 1.9208 / g.n + 1.96 * sqrt(g.p * (1 - g.p) / g.n + 0.9604 / (g.n * g.n))) / (1 + 3.8416 / g.n))) AS failure_rate_high
FROM
(
    SELECT
        script_id,
        day,
        step_index,
        step_name,
        attempts,
        failures,
        failure_rate,
        last_failure_at,
        last_error,
        toFloat64(attempts) AS n,
        failures / toFloat64(attempts) AS p
    FROM groups_state FINAL
    ARRAY JOIN
        step_index AS step_index,
        step_name AS step_name,
        step_attempts AS attempts,
        step_failures AS failures,
        step_failure_rate AS failure_rate,
        step_last_failure_at AS last_failure_at,
        step_last_error AS last_error
    WHERE _is_deleted = 0 AND total > 0
) AS g
LEFT JOIN
(
    SELECT script_id, name, toUInt8(1) AS present
    FROM script_names
) AS s ON s.script_id = g.script_id
SETTINGS join_use_nulls = 0;

-- Days whose success rate is clearly below the script's recent normal: the
-- day's Wilson high is below the Wilson low of the pooled counted runs of
-- the same script over the 28 calendar days before it (at least 20 runs).
CREATE OR REPLACE VIEW success_rate_drops SQL SECURITY DEFINER AS
SELECT
    script_id,
    script_name,
    day,
    total,
    success_rate,
    success_rate_low,
    success_rate_high,
    baseline_runs,
    baseline_success / toFloat64(baseline_runs) AS baseline_rate,
    if(baseline_success = 0, 0., greatest(0., (baseline_success / toFloat64(baseline_runs) + 1.9208 / baseline_runs
        - 1.96 * sqrt((baseline_success / toFloat64(baseline_runs)) * (1 - baseline_success / toFloat64(baseline_runs)) / baseline_runs
                      + 0.9604 / (toFloat64(baseline_runs) * baseline_runs))) / (1 + 3.8416 / baseline_runs))) AS baseline_low,
    if(baseline_success = baseline_runs, 1., least(1., (baseline_success / toFloat64(baseline_runs) + 1.9208 / baseline_runs
        + 1.96 * sqrt((baseline_success / toFloat64(baseline_runs)) * (1 - baseline_success / toFloat64(baseline_runs)) / baseline_runs
                      + 0.9604 / (toFloat64(baseline_runs) * baseline_runs))) / (1 + 3.8416 / baseline_runs))) AS baseline_high
FROM
(
    SELECT
        script_id,
        script_name,
        day,
        total,
        success_rate,
        success_rate_low,
        success_rate_high,
        sum(total) OVER w AS baseline_runs,
        sum(success) OVER w AS baseline_success
    FROM script_daily
    WINDOW w AS (PARTITION BY script_id ORDER BY toInt32(day) RANGE BETWEEN 28 PRECEDING AND 1 PRECEDING)
)
WHERE baseline_runs >= 20 AND success_rate_high < baseline_low;
