-- Every stored version of the runs of some scripts on some dates, whole
-- days, in key order then version: the job keeps, per run, the row FINAL
-- would keep — the greatest _version, none when that row is a tombstone —
-- and of those the counted runs with steps (load/healthdays.go). Read
-- without FINAL: a FINAL read merges every column of every granule the
-- dates touch (a granule holds months of a script), ~230 ms for one date
-- of 190 scripts at 1M runs against ~65 ms this way. The filters on
-- status and steps are the job's, after the version is chosen: in WHERE
-- they would let an older version show. Dates are few (normally the
-- window's first day); the job skips the (script, day) groups it did not
-- ask for. agg_steps: index, status, name, and the error of failed steps;
-- left empty for rows that cannot be kept.
SELECT
    script_id, day, run_id, _version, _is_deleted,
    toUInt8(status_class = 'unfinished') AS unfinished,
    toUInt8(notEmpty(step_index)) AS has_steps,
    ordered_at_us, failure_at_us,
    if(_is_deleted = 1 OR status_class = 'unfinished', '', agg_steps) AS steps
FROM runs_state
PREWHERE script_id IN {ids:Array(Int64)} AND day IN {days:Array(Date32)}
ORDER BY script_id, day, run_id, _version
SETTINGS max_block_size = 4096
