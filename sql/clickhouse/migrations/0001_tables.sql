-- Private tables of the job. Every statement here is idempotent so that
-- `scriptstats migrate` is safe to run again and concurrently.
--
-- All state tables are ReplacingMergeTree(_version, _is_deleted): a pass
-- writes whole rows with a larger _version (the pass version), a deletion is
-- a row with _is_deleted = 1. Readers use FINAL, so a replaced or deleted row
-- is never seen, even before a background merge.

-- One row per run in its latest state, keyed by its (script, day) group so
-- that recomputing a group reads a contiguous range. A run that moves to
-- another group leaves a tombstone at its old key.
CREATE TABLE IF NOT EXISTS runs_state
(
    script_id          Int64,
    day                Date32,
    run_id             Int64,
    status             String,
    status_class       Enum8('unfinished' = 0, 'success' = 1, 'failed' = 2, 'timeout' = 3, 'cancelled' = 4, 'other' = 5),
    ordered_at_us      Int64,
    created_at_us      Int64,
    updated_at_us      Int64,
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
    -- The steps again, packed for the aggregates (load/stepcodec.go): what
    -- recomputing a group reads instead of the five arrays.
    agg_steps          String,
    _version           UInt64,
    _is_deleted        UInt8,
    INDEX run_id_bloom run_id TYPE bloom_filter GRANULARITY 4
)
ENGINE = ReplacingMergeTree(_version, _is_deleted)
PARTITION BY toYYYYMM(day)
ORDER BY (script_id, day, run_id);

-- Where each run currently is: found by run id when a changed run arrives, so
-- the group it leaves is recomputed too.
CREATE TABLE IF NOT EXISTS run_locations
(
    run_id      Int64,
    script_id   Int64,
    day         Date32,
    _version    UInt64,
    _is_deleted UInt8
)
ENGINE = ReplacingMergeTree(_version, _is_deleted)
ORDER BY run_id;

-- One row per (script, day) group: the script_daily figures and, as
-- parallel arrays, the group's step_daily rows. Replacing the row replaces
-- the whole group at once, so a step that disappears from a group can never
-- linger. A group with no counted run is a tombstone.
CREATE TABLE IF NOT EXISTS groups_state
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
ORDER BY (script_id, day);

-- Script names as of the latest pass.
CREATE TABLE IF NOT EXISTS scripts_state
(
    script_id   Int64,
    name        String,
    _version    UInt64,
    _is_deleted UInt8
)
ENGINE = ReplacingMergeTree(_version, _is_deleted)
ORDER BY script_id;

-- Groups a pass is about to change, written before the runs themselves. A
-- pass recomputes every group journaled after the last completed pass, so a
-- pass that crashed anywhere is finished by the next one.
CREATE TABLE IF NOT EXISTS pending_groups
(
    pass_version UInt64,
    script_id    Int64,
    day          Date32,
    written_at   DateTime DEFAULT now()
)
ENGINE = MergeTree
ORDER BY (pass_version, script_id, day)
TTL written_at + INTERVAL 30 DAY;

-- The job's own state (watermark, time zone, last completed pass), one row
-- per key; the newest version wins.
CREATE TABLE IF NOT EXISTS job_state
(
    key      String,
    value    String,
    _version UInt64
)
ENGINE = ReplacingMergeTree(_version)
ORDER BY key;
