-- The run series' key (issue: negative step indexes). A step index is any
-- integer (contract section 2), but migrations 0008..0012 kept the series of
-- whole runs at step_index -1 and showed every negative step_index as a
-- whole-run change: a real step -1 collided with the run series and a step
-- -3 looked like one. From this version on the job keys the run series
-- -2147483648 (load.RunSeries, the least Int32: a step of that exact index
-- has no series, docs/detection.md "Step indexes"), and the view shows only
-- that key as the whole run (step_index NULL); every other step_index,
-- negative or not, is a step.
--
-- Rows stored by older versions: every live row at -1 (change points and
-- the quiet mark of the run series; a real step -1 was merged into it) is
-- copied to the new key with its version and tombstoned at -1, once (the
-- guard: this migration not yet recorded; a migrate killed in between
-- repeats both, which changes nothing), so that the view shows what it
-- showed before until the next pass. That pass makes them exact: the job's
-- change method names the run series' key, so the first pass of this
-- version recomputes every script's whole series and replaces all stored
-- rows (schedules/detect.go, changeMethod).
INSERT INTO duration_changes_state
SELECT * REPLACE (toInt32(-2147483648) AS step_index)
FROM (SELECT * FROM duration_changes_state FINAL WHERE _is_deleted = 0 AND step_index = -1)
WHERE (SELECT count() FROM schema_migrations WHERE version = 13) = 0;

INSERT INTO duration_changes_state
SELECT * REPLACE (_version + 1 AS _version, toUInt8(1) AS _is_deleted)
FROM (SELECT * FROM duration_changes_state FINAL WHERE _is_deleted = 0 AND step_index = -1)
WHERE (SELECT count() FROM schema_migrations WHERE version = 13) = 0;

CREATE OR REPLACE VIEW duration_changes SQL SECURITY DEFINER AS
SELECT
    c.script_id AS script_id,
    if(s.present = 1, s.name, concat('(unknown script ', toString(c.script_id), ')')) AS script_name,
    CAST(if(c.step_index = -2147483648, NULL, c.step_index) AS Nullable(Int32)) AS step_index,
    c.step_name AS step_name,
    c.run_id AS run_id,
    c.previous_run_id AS previous_run_id,
    c.changed_at AS changed_at,
    c.day AS day,
    c.runs_before AS runs_before,
    c.runs_after AS runs_after,
    c.median_before AS median_before,
    c.median_after AS median_after,
    c.ratio AS ratio,
    c.p_value AS p_value,
    c.effect_size AS effect_size,
    c.direction AS direction,
    c.top_step_index AS top_step_index,
    c.top_step_name AS top_step_name,
    c.top_step_delta AS top_step_delta
FROM
(
    SELECT *
    FROM duration_changes_state FINAL
    WHERE _is_deleted = 0 AND ordered_at_us < 9223372036854775807
) AS c
LEFT JOIN
(
    SELECT script_id, name, toUInt8(1) AS present
    FROM script_names
) AS s ON s.script_id = c.script_id
SETTINGS join_use_nulls = 0;
