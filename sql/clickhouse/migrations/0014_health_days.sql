-- Step health from per-day summaries (issues #10 and #12; docs/detection.md,
-- "Step health from per-day summaries"). One row per (script, day) group:
-- per step (parallel arrays, like groups_state) the summary of its
-- executions that day in series order — transform.StepSegment: counts,
-- flips, leading and trailing streaks, first failure, latest name, last
-- failure with its ordering key — and the day's first and last run in
-- series order (ordered_at, run id) over the runs summarized.
--
-- group_version is the _version of the groups_state row the summary was
-- computed against. A pass rewrites a group, with its own version (unique,
-- above every version written before), whenever the group's runs change,
-- and it does so before detection, in the same pass; so a summary is
-- current exactly while its group_version is the group's current version,
-- after kills, moves, deletes and backfills alike, and one written for a
-- version that is later superseded is never taken as current. The job
-- never reads a summary whose group_version differs.
CREATE TABLE IF NOT EXISTS health_days_state
(
    script_id                  Int64,
    day                        Date32,
    group_version              UInt64,
    runs                       UInt64,
    first_at_us                Int64,
    first_run_id               Int64,
    last_at_us                 Int64,
    last_run_id                Int64,
    step_index                 Array(Int32),
    step_executions            Array(UInt32),
    step_failures              Array(UInt32),
    step_flips                 Array(UInt32),
    step_first_at_us           Array(Int64),
    step_first_failed          Array(UInt8),
    step_lead                  Array(UInt32),
    step_last_failed           Array(UInt8),
    step_trail                 Array(UInt32),
    step_trail_at_us           Array(Int64),
    step_failures_before_trail Array(UInt32),
    step_first_failure         Array(UInt32),
    step_first_failure_at_us   Array(Int64),
    step_name                  Array(Nullable(String)),
    step_last_failure_at_us    Array(Int64),
    step_last_failure_run_id   Array(Int64),
    step_last_error            Array(Nullable(String)),
    _version                   UInt64,
    _is_deleted                UInt8
)
ENGINE = ReplacingMergeTree(_version, _is_deleted)
ORDER BY (script_id, day);
