-- Run lookups by run id (issue #12): the runs, run_steps and run_vs_previous
-- views read tables ordered by run_id, so that asking for one run is a
-- primary-key read instead of a bloom-filter scan of runs_state (ordered by
-- script and day for the aggregates) or a window over every run.
--
-- Both tables have runs_state's key columns (run_id, script_id, day) and its
-- partitioning, so FINAL collapses exactly the same rows: a run that moved
-- has a tombstone at its old (script, day) and a live row at the new one,
-- in each table alike.

-- runs_state without the packed steps, ordered by run id. Written only by
-- the materialized view below, in the same INSERT as runs_state: every row
-- a pass (or backfill) writes there, live or tombstone, is here too.
CREATE TABLE IF NOT EXISTS runs_by_id
(
    run_id             Int64,
    script_id          Int64,
    day                Date32,
    status             String,
    status_class       Enum8('unfinished' = 0, 'success' = 1, 'failed' = 2, 'timeout' = 3, 'cancelled' = 4, 'other' = 5),
    ordered_at_us      Int64,
    started_at         Nullable(DateTime64(6, 'UTC')),
    finished_at        Nullable(DateTime64(6, 'UTC')),
    reported_duration  Nullable(Float64),
    duration           Nullable(Float64),
    failed_step_index  Nullable(Int32),
    failed_step_name   Nullable(String),
    error_message      Nullable(String),
    step_index         Array(Int32),
    step_name          Array(Nullable(String)),
    step_status        Array(LowCardinality(String)),
    step_duration      Array(Nullable(Float64)),
    step_error         Array(Nullable(String)),
    _version           UInt64,
    _is_deleted        UInt8
)
ENGINE = ReplacingMergeTree(_version, _is_deleted)
PARTITION BY toYYYYMM(day)
ORDER BY (run_id, script_id, day)
-- Small granules: a lookup reads one granule per part, and these rows
-- carry arrays.
SETTINGS index_granularity = 1024;

CREATE MATERIALIZED VIEW IF NOT EXISTS runs_by_id_mirror TO runs_by_id AS
SELECT
    run_id, script_id, day, status, status_class, ordered_at_us, started_at, finished_at,
    reported_duration, duration, failed_step_index, failed_step_name, error_message,
    step_index, step_name, step_status, step_duration, step_error, _version, _is_deleted
FROM runs_state;

-- Upgrade: copy what runs_state holds, every row version as it is (a row
-- copied twice by a pass writing meanwhile is the same row: harmless). Runs
-- only until this migration is recorded.
INSERT INTO runs_by_id
SELECT
    run_id, script_id, day, status, status_class, ordered_at_us, started_at, finished_at,
    reported_duration, duration, failed_step_index, failed_step_name, error_message,
    step_index, step_name, step_status, step_duration, step_error, _version, _is_deleted
FROM runs_state
WHERE (SELECT count() FROM schema_migrations WHERE version = 7) = 0;

-- Each counted run with the previous counted run of its script (ordered by
-- coalesce(started_at, created_at), then run id) and what run_vs_previous
-- shows of both. Written by each pass after it recomputes the groups
-- (load/links.go): the runs of every journaled group, and the first runs of
-- the next group of the script that had counted runs. A run that leaves a
-- place (moved, deleted, dropped) gets a tombstone there from the
-- materialized view below, in the same INSERT as its runs_state tombstone;
-- a run that is no longer counted gets one from the pass.
CREATE TABLE IF NOT EXISTS run_links
(
    run_id                Int64,
    script_id             Int64,
    day                   Date32,
    status                String,
    duration              Nullable(Float64),
    previous_run_id       Nullable(Int64),
    previous_status       Nullable(String),
    previous_duration     Nullable(Float64),
    -- Computed when the link is written, from both runs' steps (the
    -- definition is in the view's comment below).
    first_divergent_step  Nullable(Int32),
    _version              UInt64,
    _is_deleted           UInt8
)
ENGINE = ReplacingMergeTree(_version, _is_deleted)
PARTITION BY toYYYYMM(day)
ORDER BY (run_id, script_id, day)
-- Small granules: a lookup reads one granule per part, and these rows
-- carry arrays.
SETTINGS index_granularity = 1024;

-- (No alias named _is_deleted in the SELECT: it would shadow the column in
-- the WHERE clause and turn every row into a tombstone.)
CREATE MATERIALIZED VIEW IF NOT EXISTS run_links_tombstones TO run_links AS
SELECT run_id, script_id, day, _version, _is_deleted
FROM runs_state
WHERE _is_deleted = 1;

-- Upgrade: the links of every counted run, as the view computed them.
INSERT INTO run_links
    (run_id, script_id, day, status, duration, previous_run_id, previous_status, previous_duration,
     first_divergent_step, _version, _is_deleted)
SELECT
    run_id, script_id, day, status, duration, previous_run_id, previous_status, previous_duration,
    multiIf(
        previous_run_id IS NULL, NULL,
        -- Fast paths of the same definition: no steps on one side (a
        -- status is never empty, so every index of the other side differs),
        -- or the same distinct indexes in the same order.
        empty(cur_index) AND empty(prev_index), NULL,
        empty(cur_index), arrayMin(prev_index),
        empty(prev_index), arrayMin(cur_index),
        cur_index = prev_index AND length(arrayDistinct(cur_index)) = length(cur_index),
            arrayMin(arrayPushBack(arrayFilter((i, a, b) -> a != b, cur_index, cur_status, prev_status), NULL)),
        arrayMin(arrayPushBack(
            arrayFilter(
                i -> (if(indexOf(cur_index, i) = 0, '', cur_status[indexOf(cur_index, i)])
                      != if(indexOf(prev_index, i) = 0, '', prev_status[indexOf(prev_index, i)])),
                arrayConcat(cur_index, prev_index)),
            NULL))
    ),
    _version, 0
FROM
(
    SELECT
        run_id, script_id, day, status, duration, _version,
        step_index AS cur_index,
        step_status AS cur_status,
        lagInFrame(toNullable(run_id)) OVER w AS previous_run_id,
        lagInFrame(toNullable(status)) OVER w AS previous_status,
        lagInFrame(duration) OVER w AS previous_duration,
        lagInFrame(step_index) OVER w AS prev_index,
        lagInFrame(step_status) OVER w AS prev_status
    FROM runs_state FINAL
    WHERE _is_deleted = 0 AND status_class != 'unfinished'
      AND (SELECT count() FROM schema_migrations WHERE version = 7) = 0
    WINDOW w AS (PARTITION BY script_id ORDER BY ordered_at_us, run_id ROWS BETWEEN 1 PRECEDING AND CURRENT ROW)
);

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
    FROM runs_by_id FINAL
    WHERE _is_deleted = 0
) AS r
LEFT JOIN
(
    SELECT script_id, name, toUInt8(1) AS present
    FROM script_names
) AS s ON s.script_id = r.script_id
SETTINGS join_use_nulls = 0;

CREATE OR REPLACE VIEW run_steps SQL SECURITY DEFINER AS
SELECT
    run_id,
    script_id,
    step_index,
    step_name,
    status,
    duration,
    error
FROM runs_by_id FINAL
ARRAY JOIN
    step_index AS step_index,
    step_name AS step_name,
    step_status AS status,
    step_duration AS duration,
    step_error AS error
WHERE _is_deleted = 0;

-- Each counted run beside the previous counted run of the same script
-- (ordered by coalesce(started_at, created_at), then run id).
-- first_divergent_step: the smallest step index whose status differs, a step
-- present in only one run counting as differing; NULL when none differs or
-- when there is no previous run.
CREATE OR REPLACE VIEW run_vs_previous SQL SECURITY DEFINER AS
SELECT
    run_id,
    previous_run_id,
    script_id,
    status,
    previous_status,
    duration,
    previous_duration,
    duration - previous_duration AS duration_delta,
    first_divergent_step
FROM run_links FINAL
WHERE _is_deleted = 0;
