-- The script name of script_daily and step_daily, read only by the queries
-- that ask for it (issue 12: the trend question).
--
-- 0009 looked the name up with transform() over a scalar subquery on
-- script_names. ClickHouse evaluates a scalar subquery while it analyses a
-- view, for every column of the view whether the query asks for it or not:
-- the trend and the heatmap, which never ask for script_name, read
-- scripts_state under FINAL each time (the 200 rows of the names, ~3 ms of
-- a ~10 ms answer on the bench's machine).
--
-- Here the name is a correlated subquery on script_names: ClickHouse plans
-- it as a LEFT ANY JOIN on script_id (with the query's own filter on
-- script_id copied to the names' side), and only when the column is read —
-- a query that does not name script_name reads no name at all. Still exact
-- at every moment: the names are read from scripts_state under FINAL at query
-- time, as before (no cache, no copy a rename could leave stale).
-- Correlated subqueries are on by default from ClickHouse 25.8 (LTS); see
-- docs/design.md, ClickHouse compatibility. An older server, and a cluster
-- (ClickHouse refuses them over Distributed tables), get this line as 0009's
-- scalar lookup instead (load/migrate.go, load/cluster.go).
--
-- The read of groups_for_views under FINAL merges its parts in one stream
-- (split_intersecting_parts_ranges_into_layers_final = 0): by default
-- ClickHouse cuts a FINAL read into layers merged in parallel, which for one
-- script's 90 days (two granules per part) doubles the pipeline — its
-- threads and processors cost more than the merge itself, the more so on a
-- busy machine. The table holds one row per (script, day), not per run, so
-- even a read of every script's month merges in one stream in milliseconds,
-- and the setting changes how FINAL is scheduled, never its result. A view's own
-- SETTINGS apply to users in readonly mode too.
--
-- Everything else is as in 0009 (the same columns, types and order).
CREATE OR REPLACE VIEW script_daily SQL SECURITY DEFINER AS
SELECT
    g.script_id AS script_id,
    ifNull((SELECT s.name FROM script_names AS s WHERE s.script_id = g.script_id), concat('(unknown script ', toString(g.script_id), ')')) AS script_name,
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
    if(g.success = 0, 0., greatest(0., (g.p + 1.9208 / g.n - 1.96 * sqrt(g.p * (1 - g.p) / g.n + 0.9604 / (g.n * g.n))) / (1 + 3.8416 / g.n))) AS success_rate_low,
    if(g.success = g.total, 1., least(1., (g.p + 1.9208 / g.n + 1.96 * sqrt(g.p * (1 - g.p) / g.n + 0.9604 / (g.n * g.n))) / (1 + 3.8416 / g.n))) AS success_rate_high
FROM
(
    SELECT *, toFloat64(total) AS n, success / toFloat64(total) AS p
    FROM groups_for_views FINAL
    WHERE _is_deleted = 0 AND total > 0
    SETTINGS split_intersecting_parts_ranges_into_layers_final = 0
) AS g;

CREATE OR REPLACE VIEW step_daily SQL SECURITY DEFINER AS
SELECT
    g.script_id AS script_id,
    ifNull((SELECT s.name FROM script_names AS s WHERE s.script_id = g.script_id), concat('(unknown script ', toString(g.script_id), ')')) AS script_name,
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
    SETTINGS split_intersecting_parts_ranges_into_layers_final = 0
) AS g;

-- One compressed block per granule in groups_for_views. With ClickHouse's
-- default blocks (64 KiB to 1 MiB of each column before compression) a
-- column's 128-row granule sits inside a block of hundreds of granules, and
-- reading one script's 90 days decompressed ~3 MB (20 columns of every part
-- it touches) to return 90 rows: most of the trend's server CPU. With a
-- block per granule the same read decompresses ~75 KB (server CPU 4.2 →
-- 1.8 ms, measured at 1M runs). The table is small (a row per script and
-- day), so the lower compression ratio costs little. Parts written before
-- this migration keep their blocks until a background merge rewrites them
-- (slower meanwhile, still exact).
ALTER TABLE groups_for_views MODIFY SETTING min_compress_block_size = 1, max_compress_block_size = 65536;
