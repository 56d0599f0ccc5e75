-- Independent recomputation of the contract's definitions (CONTRACT.md
-- section 2) in plain PostgreSQL SQL, for the end-to-end tests. It shares
-- nothing with the Go transform. The setting scriptstats.tz holds the IANA
-- time zone.
CREATE TEMP VIEW ref_counted AS
SELECT
    t.id,
    t.script_id,
    t.status,
    t.started_at,
    t.finished_at,
    t.created_at,
    t.error_message,
    t.steps,
    t.failed_step_index,
    t.failed_step_name,
    (coalesce(t.started_at, t.created_at) AT TIME ZONE current_setting('scriptstats.tz'))::date AS day,
    coalesce(t.started_at, t.created_at) AS ordered_at,
    coalesce(t.finished_at, t.started_at, t.created_at) AS failure_at,
    d.d,
    (d.d IS NOT NULL AND d.d <> 'NaN'::float8 AND d.d <> 'Infinity'::float8
        AND d.d <> '-Infinity'::float8 AND d.d >= 0) AS valid
FROM task_log t
CROSS JOIN LATERAL (
    SELECT CASE
        WHEN t.duration IS NOT NULL THEN t.duration
        WHEN t.started_at IS NOT NULL AND t.finished_at IS NOT NULL
            THEN extract(epoch FROM (t.finished_at - t.started_at))::float8
    END AS d
) d
WHERE t.status NOT IN ('pending', 'queued', 'running')
  -- The job's documented rule: runs whose day falls outside 1900-01-01 ..
  -- 2299-12-31 (ClickHouse's Date32), or is ±infinity, are rejected and
  -- counted, not loaded.
  AND (coalesce(t.started_at, t.created_at) AT TIME ZONE current_setting('scriptstats.tz'))::date
      BETWEEN '1900-01-01' AND '2299-12-31';
