-- Step health (CONTRACT.md 2b) of some scripts, one row a step: what its
-- state depends on, computed here from its attempts in the window
-- [win_from_us, as_of_us] instead of sending every attempt to the job —
-- the summary of transform.ExecutionSummary (SummarizeExecutions is its
-- definition; days are the runs' stored days, those of the configured
-- zone), the latest non-null name and the last failure in the window, and
-- the first attempt after as_of (it enters the window then). A step with
-- attempts only after as_of has executions 0.
--
-- seq holds the attempts in series order (ordered_at_us, then run id);
-- failed is 1 for a failure. Arrays are 1-based: ff is the index of the
-- first failure (0: none), bt the index of the last attempt whose status
-- differs from the last one's (0: none), so the trailing streak starts at
-- bt + 1. Tuples keep a NULL name or error from being skipped by argMax.
WITH
    arrayMap(x -> x.3, seq) AS f,
    length(f) AS n,
    arrayFirstIndex(x -> x = 1, f) AS ff,
    f[n] AS last_f,
    arrayLastIndex(x -> x != last_f, f) AS bt,
    arrayMap(x -> x.4, seq) AS days
SELECT
    script_id,
    step_index,
    toInt64(n) AS executions,
    toInt64(arraySum(f)) AS failures,
    toInt64(arrayCount((a, b) -> a != b, arrayPopBack(f), arrayPopFront(f))) AS flips,
    toInt64(ff) - 1 AS first_failure,
    if(ff = 0, toInt64(0), seq[ff].1) AS first_failure_at_us,
    last_f AS last_failed,
    toInt64(bt) AS streak_start,
    if(n = 0, toInt64(0), seq[bt + 1].1) AS streak_start_at_us,
    toInt64(if(last_f = 0, bt - arrayLastIndex(x -> x = 0, arraySlice(f, 1, bt)), 0)) AS failures_before_streak,
    toInt64(length(arrayIntersect(arrayFilter((d, x) -> x = 1, days, f), arrayFilter((d, x) -> x = 0, days, f)))) AS mixed_days,
    if(n = 0, toInt64(0), seq[1].1) AS oldest_at_us,
    if(named = 0, NULL, name_t.1) AS step_name,
    failures_in > 0 AS has_failure,
    last_failure_at_us,
    if(failures_in = 0, NULL, error_t.1) AS last_error,
    if(later = 0, NULL, next_at_us) AS next_at_us
FROM
(
    SELECT
        script_id,
        step_index,
        arraySort(groupArrayIf((ordered_at_us, run_id, toUInt8(st = 'failed'), day), in_window)) AS seq,
        countIf(in_window AND isNotNull(name)) AS named,
        argMaxIf(tuple(name), (ordered_at_us, run_id), in_window AND isNotNull(name)) AS name_t,
        countIf(in_window AND st = 'failed') AS failures_in,
        maxIf(failure_at_us, in_window AND st = 'failed') AS last_failure_at_us,
        argMaxIf(tuple(err), (failure_at_us, run_id), in_window AND st = 'failed') AS error_t,
        countIf(NOT in_window) AS later,
        minIf(ordered_at_us, NOT in_window) AS next_at_us
    FROM
    (
        SELECT script_id, run_id, ordered_at_us, failure_at_us, day,
               step_index AS a_index, step_status AS a_status, step_name AS a_name, step_error AS a_error,
               ordered_at_us <= {as_of_us:Int64} AS in_window
        FROM runs_state FINAL
        WHERE _is_deleted = 0
          AND status_class != 'unfinished'
          AND script_id IN {ids:Array(Int64)}
          AND day >= {from:Date32}
          AND ordered_at_us >= {win_from_us:Int64}
    )
    ARRAY JOIN a_index AS step_index, a_status AS st, a_name AS name, a_error AS err
    WHERE st IN ('success', 'failed')
    GROUP BY script_id, step_index
)
ORDER BY script_id, step_index
