-- Quiet marks (issue #10, the cost of detection in an incremental pass).
-- Per duration series the job keeps, in duration_changes_state itself, one
-- row at the key (script_id, step_index, 2^63 − 1, 0) — after every change
-- point of the series — whose quiet_from_us / quiet_from_run_id name the
-- first run from which on the series' end is quiet: no scan test passed
-- within the change-point method's radius before it (transform,
-- changepoint_quiet.go). A pass whose changes to a series come after that
-- run, and whose new values pass no scan test, proves from a short tail that
-- the series' change points stay, and reads no more of it.
--
-- The mark lives in the change points' table so that it is written in the
-- same INSERT as the change points it vouches for (a pass writes each
-- script's rows in one insert): a mark never describes other change points
-- than the stored ones, whatever pass was killed where. The view leaves the
-- marks out.
ALTER TABLE duration_changes_state ADD COLUMN IF NOT EXISTS quiet_from_us Int64 DEFAULT 0;

ALTER TABLE duration_changes_state ADD COLUMN IF NOT EXISTS quiet_from_run_id Int64 DEFAULT 0;

CREATE OR REPLACE VIEW duration_changes SQL SECURITY DEFINER AS
SELECT
    c.script_id AS script_id,
    if(s.present = 1, s.name, concat('(unknown script ', toString(c.script_id), ')')) AS script_name,
    CAST(if(c.step_index < 0, NULL, c.step_index) AS Nullable(Int32)) AS step_index,
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
