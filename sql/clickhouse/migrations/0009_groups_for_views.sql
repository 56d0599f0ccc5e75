-- Trend and heatmap questions as a small key range (issue #12): script_daily
-- and step_daily read one script's days from a copy of groups_state with
-- small granules. groups_state has 8,192-row granules (its granularity cannot
-- change after creation), so asking for one script's 90 days read whole
-- granules — every group of the history in each part, with their step
-- arrays — and merged them under FINAL.
--
-- groups_for_views is written only by the materialized view below, in the
-- same INSERT as groups_state: every row a pass writes there, live or
-- tombstone, is here too, with the same key (script_id, day) and version, so
-- both tables hold the same groups under FINAL at every moment (the same
-- argument as runs_by_id in 0007). The job never reads it.
CREATE TABLE IF NOT EXISTS groups_for_views
(
    script_id             Int64,
    day                   Date32,
    total                 UInt64,
    success               UInt64,
    failed                UInt64,
    timeout               UInt64,
    cancelled             UInt64,
    other                 UInt64,
    success_rate          Float64,
    duration_count        UInt64,
    invalid_duration      UInt64,
    duration_avg          Nullable(Float64),
    duration_min          Nullable(Float64),
    duration_max          Nullable(Float64),
    duration_p50          Nullable(Float64),
    duration_p90          Nullable(Float64),
    duration_p95          Nullable(Float64),
    duration_p99          Nullable(Float64),
    success_duration_avg  Nullable(Float64),
    success_duration_p50  Nullable(Float64),
    success_duration_p95  Nullable(Float64),
    step_index            Array(Int32),
    step_name             Array(Nullable(String)),
    step_attempts         Array(UInt64),
    step_failures         Array(UInt64),
    step_failure_rate     Array(Float64),
    step_last_failure_at  Array(Nullable(DateTime64(6, 'UTC'))),
    step_last_error       Array(Nullable(String)),
    _version              UInt64,
    _is_deleted           UInt8
)
ENGINE = ReplacingMergeTree(_version, _is_deleted)
ORDER BY (script_id, day)
-- A script's 90 days are one or two granules per part.
SETTINGS index_granularity = 128;

CREATE MATERIALIZED VIEW IF NOT EXISTS groups_for_views_mirror TO groups_for_views AS
SELECT
    script_id, day, total, success, failed, timeout, cancelled, other, success_rate,
    duration_count, invalid_duration, duration_avg, duration_min, duration_max,
    duration_p50, duration_p90, duration_p95, duration_p99,
    success_duration_avg, success_duration_p50, success_duration_p95,
    step_index, step_name, step_attempts, step_failures, step_failure_rate,
    step_last_failure_at, step_last_error, _version, _is_deleted
FROM groups_state;

-- Upgrade: copy what groups_state holds, every row version as it is (a row
-- copied twice because a pass wrote it meanwhile is the same row: FINAL
-- keeps one). Runs only until this migration is recorded.
INSERT INTO groups_for_views
SELECT
    script_id, day, total, success, failed, timeout, cancelled, other, success_rate,
    duration_count, invalid_duration, duration_avg, duration_min, duration_max,
    duration_p50, duration_p90, duration_p95, duration_p99,
    success_duration_avg, success_duration_p50, success_duration_p95,
    step_index, step_name, step_attempts, step_failures, step_failure_rate,
    step_last_failure_at, step_last_error, _version, _is_deleted
FROM groups_state
WHERE (SELECT count() FROM schema_migrations WHERE version = 9) = 0;

-- The same columns as 0005 and 0007, reading groups_for_views; the script
-- name comes from one scalar read of script_names per query (200 rows for
-- 200 scripts) looked up with transform() instead of a LEFT JOIN: the join
-- cost ~10 ms per question on this machine, more than reading the script's
-- 90 days. Still exact at every moment (no cache, unlike a dictionary).
CREATE OR REPLACE VIEW script_daily SQL SECURITY DEFINER AS
WITH (SELECT (groupArray(script_id), groupArray(name)) FROM script_names) AS names
SELECT
    g.script_id AS script_id,
    transform(g.script_id, names.1, names.2, concat('(unknown script ', toString(g.script_id), ')')) AS script_name,
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
) AS g;

CREATE OR REPLACE VIEW step_daily SQL SECURITY DEFINER AS
WITH (SELECT (groupArray(script_id), groupArray(name)) FROM script_names) AS names
SELECT
    g.script_id AS script_id,
    transform(g.script_id, names.1, names.2, concat('(unknown script ', toString(g.script_id), ')')) AS script_name,
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
) AS g;

-- runs as in 0007, the script name looked up the same way (the run
-- comparison question reads it).
CREATE OR REPLACE VIEW runs SQL SECURITY DEFINER AS
WITH (SELECT (groupArray(script_id), groupArray(name)) FROM script_names) AS names
SELECT
    r.run_id AS run_id,
    r.script_id AS script_id,
    transform(r.script_id, names.1, names.2, concat('(unknown script ', toString(r.script_id), ')')) AS script_name,
    r.day AS day,
    r.status AS status,
    r.started_at AS started_at,
    r.finished_at AS finished_at,
    r.duration AS duration,
    r.failed_step_index AS failed_step_index,
    r.failed_step_name AS failed_step_name,
    r.error_message AS error_message,
    r.reported_duration AS reported_duration,
    toString(r.status_class) AS status_class,
    fromUnixTimestamp64Micro(r.ordered_at_us, 'UTC') AS ordered_at
FROM
(
    SELECT *
    FROM runs_by_id FINAL
    WHERE _is_deleted = 0
) AS r;

-- The relink (load/links.go) reads the runs of the journaled groups from
-- runs_by_id instead of runs_state: the same rows under FINAL (0007), but in
-- 1,024-row granules ordered by run id, so that with this index a pass reads
-- the granules holding runs of the journaled days instead of every 8,192-row
-- granule of runs_state that a (script, day) range touches — all of the
-- month's partition when every script runs each day. day is in the sorting
-- key, so every version of a row has the same day and skipping by it is
-- exact under FINAL. Parts written before this migration have no index
-- until a merge rewrites them (read whole meanwhile: slower, still exact);
-- no MATERIALIZE INDEX, since migrate runs every statement again.
ALTER TABLE runs_by_id ADD INDEX IF NOT EXISTS day_minmax day TYPE minmax GRANULARITY 1;
