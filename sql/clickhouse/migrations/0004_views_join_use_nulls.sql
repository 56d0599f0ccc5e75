-- The views that LEFT JOIN script names fix join_use_nulls = 0 for
-- themselves. A BI tool may send join_use_nulls = 1 with every query
-- (Tableau's connector does; the analysts' profile lets it): without this,
-- the view's query would then return Nullable columns where the view's
-- structure has none, and ClickHouse refuses every query on the view
-- (code 80, "Query from view ... returned Nullable column having not
-- Nullable type"). The definitions are those of 0002_views.sql with the
-- setting added; a missing script name still reads '(unknown script N)'.

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
    g.success_duration_p95 AS success_duration_p95
FROM
(
    SELECT *
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
    g.last_error AS last_error
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
        last_error
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

CREATE OR REPLACE VIEW runs SQL SECURITY DEFINER AS
SELECT
    r.run_id AS run_id,
    r.script_id AS script_id,
    if(s.present = 1, s.name, concat('(unknown script ', toString(r.script_id), ')')) AS script_name,
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
    FROM runs_state FINAL
    WHERE _is_deleted = 0
    -- A lookup by run id may skip granules by the run_id bloom filter even
    -- under FINAL (the default only from 25.x): every version of a row has
    -- the same run_id, part of the sorting key, so no version is missed.
    SETTINGS use_skip_indexes_if_final = 1
) AS r
LEFT JOIN
(
    SELECT script_id, name, toUInt8(1) AS present
    FROM script_names
) AS s ON s.script_id = r.script_id
SETTINGS join_use_nulls = 0;
