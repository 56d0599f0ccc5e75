-- The input of the detection oracle, after oracle_setup.sql (same
-- transaction): every counted run with its steps (contract section 2), in
-- the order of the duration series — coalesce(started_at, created_at), then
-- run id — and array order within a run. Times as microseconds since 1970
-- (failure_at may be ±infinity: clamped to the int64 range, which keeps its
-- order); last_failure_at as step_daily shows it (NULL where ref_stored says).
SELECT
    r.script_id,
    r.run_id,
    (extract(epoch FROM r.ordered_at) * 1000000)::bigint AS ordered_at_us,
    r.day,
    r.status,
    r.duration,
    CASE WHEN r.failure_at = 'infinity' THEN 9223372036854775807
         WHEN r.failure_at = '-infinity' THEN -9223372036854775808
         ELSE (extract(epoch FROM r.failure_at) * 1000000)::bigint END AS failure_at_us,
    pg_temp.ref_stored(r.failure_at) AS failure_at_stored,
    s.step_index,
    s.status AS step_status,
    s.duration AS step_duration,
    s.step_name,
    s.error AS step_error
FROM ref_runs AS r
LEFT JOIN ref_steps AS s ON s.run_id = r.run_id
WHERE r.counted
ORDER BY r.script_id, r.ordered_at, r.run_id, s.ord
