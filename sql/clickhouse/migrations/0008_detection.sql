-- Detection, part 2 (CONTRACT.md sections 2b and 3): duration change points
-- and step health. Both are computed in Go by the job (schedules/detect.go,
-- with the pure functions of transform) and kept in private
-- ReplacingMergeTree tables, one row per change point and one per step;
-- the views read them with FINAL, so a replaced or deleted row is never
-- seen. See docs/detection.md, "In the job".

-- One row per change point of a duration series; step_index -1 is the
-- series of whole runs. Ordered by the series order (ordered_at, run id) so
-- that a pass replaces the tail of a series from a key on.
CREATE TABLE IF NOT EXISTS duration_changes_state
(
    script_id        Int64,
    step_index       Int32,
    ordered_at_us    Int64,
    run_id           Int64,
    step_name        Nullable(String),
    previous_run_id  Nullable(Int64),
    changed_at       Nullable(DateTime64(6, 'UTC')),
    day              Date32,
    runs_before      UInt64,
    runs_after       UInt64,
    median_before    Float64,
    median_after     Float64,
    ratio            Float64,
    p_value          Float64,
    effect_size      Float64,
    direction        LowCardinality(String),
    top_step_index   Nullable(Int32),
    top_step_name    Nullable(String),
    top_step_delta   Nullable(Float64),
    _version         UInt64,
    _is_deleted      UInt8
)
ENGINE = ReplacingMergeTree(_version, _is_deleted)
ORDER BY (script_id, step_index, ordered_at_us, run_id);

-- One row per step with an execution in the 14 days before the pass that
-- computed it. A row stays valid until next_check (see health_checks).
CREATE TABLE IF NOT EXISTS step_health_state
(
    script_id          Int64,
    step_index         Int32,
    step_name          Nullable(String),
    state              LowCardinality(String),
    since              Nullable(DateTime64(6, 'UTC')),
    executions         UInt64,
    failures           UInt64,
    failure_rate       Nullable(Float64),
    failure_rate_low   Nullable(Float64),
    failure_rate_high  Nullable(Float64),
    flip_rate          Nullable(Float64),
    last_failure_at    Nullable(DateTime64(6, 'UTC')),
    last_error         Nullable(String),
    _version           UInt64,
    _is_deleted        UInt8
)
ENGINE = ReplacingMergeTree(_version, _is_deleted)
ORDER BY (script_id, step_index);

-- Per script, the first time at which the health of one of its steps can
-- change without new data (an execution leaves the 14 days, a failure
-- leaves the last 24 h, a future-dated execution enters): every pass at or
-- after it recomputes the script, so no state goes stale.
CREATE TABLE IF NOT EXISTS health_checks
(
    script_id      Int64,
    next_check_us  Int64,
    _version       UInt64,
    _is_deleted    UInt8
)
ENGINE = ReplacingMergeTree(_version, _is_deleted)
ORDER BY script_id;

-- The time step health is as of: the latest pass's source time.
CREATE TABLE IF NOT EXISTS detection_as_of
(
    key       UInt8,
    as_of     DateTime64(6, 'UTC'),
    _version  UInt64
)
ENGINE = ReplacingMergeTree(_version)
ORDER BY key;

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
    WHERE _is_deleted = 0
) AS c
LEFT JOIN
(
    SELECT script_id, name, toUInt8(1) AS present
    FROM script_names
) AS s ON s.script_id = c.script_id
SETTINGS join_use_nulls = 0;

CREATE OR REPLACE VIEW step_health SQL SECURITY DEFINER AS
SELECT
    h.script_id AS script_id,
    if(s.present = 1, s.name, concat('(unknown script ', toString(h.script_id), ')')) AS script_name,
    h.step_index AS step_index,
    h.step_name AS step_name,
    h.state AS state,
    h.since AS since,
    h.executions AS executions,
    h.failures AS failures,
    h.failure_rate AS failure_rate,
    h.failure_rate_low AS failure_rate_low,
    h.failure_rate_high AS failure_rate_high,
    h.flip_rate AS flip_rate,
    h.last_failure_at AS last_failure_at,
    h.last_error AS last_error,
    (SELECT max(as_of) FROM detection_as_of) AS as_of
FROM
(
    SELECT *
    FROM step_health_state FINAL
    WHERE _is_deleted = 0
) AS h
LEFT JOIN
(
    SELECT script_id, name, toUInt8(1) AS present
    FROM script_names
) AS s ON s.script_id = h.script_id
SETTINGS join_use_nulls = 0;
