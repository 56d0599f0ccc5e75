-- The trend and the heatmap (issue 12): one thread and one file per part for
-- a question that reads one script's days.
--
-- A trend question reads one or two 128-row granules of groups_for_views,
-- yet the read cost more than the data: ClickHouse started the read on
-- every thread it may use (max_threads, one per core) and a pool of threads
-- for the index analysis of each part, and opened every column file of every
-- part it touched (a part of 10,000 groups or more is Wide: a file per column
-- and per null map, 70 opened files per question on the bench's 1M
-- database). See docs/performance.md, "Seventh round".
--
-- 1. groups_for_views writes Compact parts (all columns in one file) up to
--    1 GiB of uncompressed data: the table holds a row per script and day,
--    1.7-2.3 MB compressed per 10,000 groups, so every part of a real
--    database is far below that; a part beyond it is Wide again. Each column
--    of a granule is still compressed on its own (one block per granule,
--    0010), so a question reads the columns it asks for. Parts written before
--    this migration stay Wide until a background merge rewrites them (the
--    same rows; only the read is slower meanwhile).
ALTER TABLE groups_for_views MODIFY SETTING min_bytes_for_wide_part = 1073741824;

-- 2. The views read groups_for_views with one thread (max_threads = 1, a
--    setting of the view's own SELECT: it holds for every user, readonly BI
--    users included, and does not change what the outer query does with the
--    rows). FINAL already merges the parts in one stream (0010), so a second
--    thread only split the reading of a few granules; a scan of every script
--    (top_failing) reads at most a few MB per part. The columns, types,
--    order and values are those of 0016 (script_daily) and 0010
--    (step_daily); step_daily now reads the name from scripts_state under
--    FINAL itself, as 0016's script_daily does (the rows of script_names, one
--    view less to analyse). On a cluster and on servers before 25.8 the name
--    is rewritten to 0009's scalar lookup (load/cluster.go), as before.
CREATE OR REPLACE VIEW script_daily SQL SECURITY DEFINER AS
SELECT
    g.script_id AS script_id,
    ifNull((SELECT s.name FROM scripts_state AS s FINAL WHERE s.script_id = g.script_id AND s._is_deleted = 0), concat('(unknown script ', toString(g.script_id), ')')) AS script_name,
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
    g.success_rate_low AS success_rate_low,
    g.success_rate_high AS success_rate_high
FROM groups_for_views AS g FINAL
WHERE g._is_deleted = 0 AND g.total > 0
SETTINGS split_intersecting_parts_ranges_into_layers_final = 0, max_threads = 1;

CREATE OR REPLACE VIEW step_daily SQL SECURITY DEFINER AS
SELECT
    g.script_id AS script_id,
    ifNull((SELECT s.name FROM scripts_state AS s FINAL WHERE s.script_id = g.script_id AND s._is_deleted = 0), concat('(unknown script ', toString(g.script_id), ')')) AS script_name,
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
    FROM groups_for_views FINAL
    ARRAY JOIN
        step_index AS step_index,
        step_name AS step_name,
        step_attempts AS attempts,
        step_failures AS failures,
        step_failure_rate AS failure_rate,
        step_last_failure_at AS last_failure_at,
        step_last_error AS last_error
    WHERE _is_deleted = 0 AND total > 0
    SETTINGS split_intersecting_parts_ranges_into_layers_final = 0, max_threads_for_indexes = 1
) AS g;
