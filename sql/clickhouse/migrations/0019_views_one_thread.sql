-- The trend and the heatmap (issue 12): a question that reads one script's
-- days opens one file per part and runs on one thread.
--
-- A trend question reads one or two 128-row granules of groups_for_views,
-- yet the read cost more than the data: ClickHouse ran it on every thread it
-- may use (max_threads, one per core) with a pool of threads for the index
-- analysis of the parts, and opened every column file of each part it
-- touched — a part of 10,000 groups is Wide (a file per column and per null
-- map): 70 files and 7 thread-pool jobs per trend question on the bench's 1M
-- database, about 2 ms of the ~11 ms answer. The view's own analysis and
-- planning (~6 ms) is the rest; see docs/performance.md, "Seventh round".
--
-- 1. groups_for_views writes Compact parts (all columns in one file) up to
--    1 GiB of uncompressed data. The table holds a row per script and day,
--    ~1.1 KB before compression (20 MB for the 18,000 groups of the bench's
--    1M history), so a part stays Compact up to about a million groups; a
--    bigger one is Wide again. Each column of a
--    granule is still compressed on its own (one block per granule, 0010), so
--    a question reads the columns it asks for. Parts written before this
--    migration stay Wide until a background merge rewrites them (the same
--    rows; only the read is slower meanwhile).
ALTER TABLE groups_for_views MODIFY SETTING min_bytes_for_wide_part = 1073741824;

-- 2. script_daily reads with one thread (max_threads = 1, a setting of the
--    view's own SELECT: it holds for every user, readonly BI users included,
--    and leaves the outer query's threads alone). FINAL already merges the
--    parts in one stream (0010), so a second thread only split the reading of
--    a few granules; the view has no array column, and a read of every script
--    over a year is a few MB. The columns, types, order and values are 0016's.
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

-- 3. step_daily keeps two threads (a read of every script's steps, such as
--    the top failing steps, decompresses megabytes of arrays and is faster on
--    both cores), but analyses the parts' index on one
--    (max_threads_for_indexes = 1: a pool of threads per question for a few
--    binary searches). It also becomes one flat SELECT, as 0016 made
--    script_daily: 0010's view was a SELECT over a subquery that only named n
--    and p for the Wilson bounds, and every level costs ClickHouse an analysis
--    and a plan of its own. The bounds are 0010's expressions with n and p
--    written out; the columns, types, order and values are 0010's (EXCEPT
--    both ways against 0010's view: no row, on the bench's 1M database and in
--    load/views_one_thread_test.go). The name reads scripts_state under FINAL
--    itself, as 0016's script_daily does (the rows of script_names, one view
--    less to analyse); on a cluster and on servers before 25.8 it is rewritten
--    to 0009's scalar lookup (load/cluster.go), as before.
CREATE OR REPLACE VIEW step_daily SQL SECURITY DEFINER AS
SELECT
    g.script_id AS script_id,
    ifNull((SELECT s.name FROM scripts_state AS s FINAL WHERE s.script_id = g.script_id AND s._is_deleted = 0), concat('(unknown script ', toString(g.script_id), ')')) AS script_name,
    step_index,
    step_name,
    g.day AS day,
    attempts,
    failures,
    failure_rate,
    last_failure_at,
    last_error,
    -- Wilson score interval of failures / attempts (z = 1.96), as 0010 wrote
    -- it with n = toFloat64(attempts) and p = failures / n.
    if(failures = 0, 0., greatest(0., ((failures / toFloat64(attempts)) + 1.9208 / toFloat64(attempts) - 1.96 * sqrt((failures / toFloat64(attempts)) * (1 - (failures / toFloat64(attempts))) / toFloat64(attempts) + 0.9604 / (toFloat64(attempts) * toFloat64(attempts)))) / (1 + 3.8416 / toFloat64(attempts)))) AS failure_rate_low,
    if(failures = attempts, 1., least(1., ((failures / toFloat64(attempts)) + 1.9208 / toFloat64(attempts) + 1.96 * sqrt((failures / toFloat64(attempts)) * (1 - (failures / toFloat64(attempts))) / toFloat64(attempts) + 0.9604 / (toFloat64(attempts) * toFloat64(attempts)))) / (1 + 3.8416 / toFloat64(attempts)))) AS failure_rate_high
FROM groups_for_views AS g FINAL
ARRAY JOIN
    g.step_index AS step_index,
    g.step_name AS step_name,
    g.step_attempts AS attempts,
    g.step_failures AS failures,
    g.step_failure_rate AS failure_rate,
    g.step_last_failure_at AS last_failure_at,
    g.step_last_error AS last_error
WHERE g._is_deleted = 0 AND g.total > 0
SETTINGS split_intersecting_parts_ranges_into_layers_final = 0, max_threads_for_indexes = 1;
