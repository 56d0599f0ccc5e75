-- The views that LEFT JOIN script names fix join_use_nulls = 0 for
-- themselves; here `runs`. A BI tool may send join_use_nulls = 1 with every query
-- (Tableau's connector does; the analysts' profile lets it): without this,
-- the view's query would then return Nullable columns where the view's
-- structure has none, and ClickHouse refuses every query on the view
-- (code 80, "Query from view ... returned Nullable column having not
-- Nullable type"). The definition is that of 0002_views.sql with the
-- setting added; a missing script name still reads '(unknown script N)'.
-- script_daily and step_daily get the setting in 0005_detection_rates.sql,
-- which redefines them anyway.

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
