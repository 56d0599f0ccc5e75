-- The runs of every group journaled by passes after the last completed one,
-- in group order, with only what the aggregates need (the packed steps). A group whose runs all left appears as one row with has_run 0 so
-- that the reader still learns to write its tombstone. join_use_nulls = 0: the run's columns keep their types (a group
-- without runs gets their defaults, and has_run 0), so that the reader scans no Nullable wrapper and allocates no value
-- per row (docs/performance.md, "Ninth round: the load path's CPU"). The three columns NULL can be in come with a
-- stand-in for it that no stored value takes: started_at and finished_at as microseconds, NULL as the least Int64
-- (stored times lie within 1900..2262); duration NULL as NaN (a stored duration is never NaN: transform makes a NaN
-- duration invalid, stored as NULL).
SELECT
    g.script_id AS script_id,
    g.day AS day,
    r.has_run AS has_run,
    r.run_id AS run_id,
    r.status_class AS status_class,
    r.ordered_at_us AS ordered_at_us,
    r.created_at_us AS created_at_us,
    r.failure_at_us AS failure_at_us,
    r.started_at_us AS started_at_us,
    r.finished_at_us AS finished_at_us,
    r.duration AS duration,
    r.agg_steps AS agg_steps
FROM
(
    SELECT
        toUInt8(1) AS has_run, script_id, day, run_id, status_class, ordered_at_us, created_at_us, failure_at_us,
        ifNull(toUnixTimestamp64Micro(started_at), toInt64(-9223372036854775808)) AS started_at_us,
        ifNull(toUnixTimestamp64Micro(finished_at), toInt64(-9223372036854775808)) AS finished_at_us,
        ifNull(duration, nan) AS duration,
        agg_steps
    FROM runs_state FINAL
    WHERE _is_deleted = 0
      AND (script_id, day) IN (SELECT script_id, day FROM pending_groups WHERE pass_version > {after:UInt64})
) AS r
-- The groups on the right: a hash join keeps its right side in memory,
-- and the groups are the small side (the runs were, with their packed
-- steps: twice slower on a first load).
RIGHT JOIN
(
    SELECT DISTINCT script_id, day
    FROM pending_groups
    WHERE pass_version > {after:UInt64}
) AS g ON r.script_id = g.script_id AND r.day = g.day
ORDER BY script_id, day, run_id
SETTINGS join_use_nulls = 0, max_block_size = 4096
