-- step_daily: one row per script, step index and day with at least one
-- attempt (a success or failed step of a counted run). step_name: the
-- latest non-null name; last_error: the error of the latest failed attempt;
-- "latest" by coalesce(started_at, created_at) (names) or by the failure
-- time (errors), then run id, then (duplicate indexes in one run) the later
-- array element (design.md).
SELECT
    r.script_id,
    r.day::text AS day,
    s.step_index,
    min(r.script_name) AS script_name,
    (array_agg(s.step_name ORDER BY r.ordered_at DESC, r.run_id DESC, s.ord DESC)
        FILTER (WHERE s.step_name IS NOT NULL))[1] AS step_name,
    count(*) AS attempts,
    count(*) FILTER (WHERE s.status = 'failed') AS failures,
    (count(*) FILTER (WHERE s.status = 'failed'))::float8 / count(*) AS failure_rate,
    pg_temp.ref_wilson(count(*) FILTER (WHERE s.status = 'failed'), count(*), false) AS failure_rate_low,
    pg_temp.ref_wilson(count(*) FILTER (WHERE s.status = 'failed'), count(*), true) AS failure_rate_high,
    pg_temp.ref_stored(max(r.failure_at) FILTER (WHERE s.status = 'failed')) AS last_failure_at,
    (array_agg(s.error ORDER BY r.failure_at DESC, r.run_id DESC, s.ord DESC)
        FILTER (WHERE s.status = 'failed'))[1] AS last_error
FROM ref_steps AS s
JOIN ref_runs AS r ON r.run_id = s.run_id
WHERE r.counted AND s.status IN ('success', 'failed')
GROUP BY r.script_id, r.day, s.step_index
