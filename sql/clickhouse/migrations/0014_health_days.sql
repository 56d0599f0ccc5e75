-- Step health from per-day summaries (issues #10 and #12; docs/detection.md,
-- "How it is read"). One row per (script, day) group: per step the summary
-- of its executions that day in series order — transform.StepSegment:
-- counts, flips, leading and trailing streaks, first failure, latest name,
-- last failure with its ordering key — and the day's first and last run in
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
    script_id      Int64,
    day            Date32,
    group_version  UInt64,
    runs           UInt64,
    first_at_us    Int64,
    first_run_id   Int64,
    last_at_us     Int64,
    last_run_id    Int64,
    -- The steps' segments packed by the job (load/healthdays.go,
    -- encodeDaySteps), in step order: one string to scan per day instead
    -- of sixteen arrays (the arrays cost ~100 ms a pass to scan at 1M).
    steps          String,
    _version       UInt64,
    _is_deleted    UInt8
)
ENGINE = ReplacingMergeTree(_version, _is_deleted)
ORDER BY (script_id, day);
