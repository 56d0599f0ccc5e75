-- One run beside the previous counted run of its script (the
-- run_vs_previous view's columns), from task_log. $1 the run id.
WITH cur AS (
    SELECT
        id, script_id, status, coalesce(started_at, created_at) AS ordered_at,
        coalesce(duration, extract(epoch FROM finished_at - started_at)::float8) AS duration,
        steps, failed_step_index
    FROM task_log
    WHERE id = $1 AND status NOT IN ('pending', 'queued', 'running')
), prev AS (
    SELECT
        t.id, t.status,
        coalesce(t.duration, extract(epoch FROM t.finished_at - t.started_at)::float8) AS duration,
        t.steps, t.failed_step_index
    FROM cur
    JOIN task_log t ON t.script_id = cur.script_id
    WHERE t.status NOT IN ('pending', 'queued', 'running')
      AND (coalesce(t.started_at, t.created_at), t.id) < (cur.ordered_at, cur.id)
    ORDER BY coalesce(t.started_at, t.created_at) DESC, t.id DESC
    LIMIT 1
), both_runs AS (
    SELECT 'cur' AS side, steps, failed_step_index FROM cur
    UNION ALL
    SELECT 'prev', steps, failed_step_index FROM prev
), st AS (
    SELECT b.side, (e ->> 'index')::int AS step_index, e ->> 'status' AS status
    FROM both_runs b
    CROSS JOIN LATERAL jsonb_array_elements(
        CASE WHEN jsonb_typeof(b.steps) = 'array' THEN b.steps ELSE '[]' END) AS e
    WHERE jsonb_typeof(e) = 'object' AND jsonb_typeof(e -> 'index') = 'number'
      AND e ->> 'status' IN ('success', 'failed', 'skipped')
    UNION ALL
    SELECT side, failed_step_index, 'failed'
    FROM both_runs
    WHERE failed_step_index IS NOT NULL
      AND (jsonb_typeof(steps) IS DISTINCT FROM 'array'
           OR jsonb_array_length(CASE WHEN jsonb_typeof(steps) = 'array' THEN steps ELSE '[]' END) = 0)
), diverge AS (
    SELECT min(coalesce(c.step_index, p.step_index)) AS step
    FROM (SELECT step_index, status FROM st WHERE side = 'cur') c
    FULL JOIN (SELECT step_index, status FROM st WHERE side = 'prev') p ON p.step_index = c.step_index
    WHERE c.status IS DISTINCT FROM p.status
)
SELECT
    cur.id AS run_id,
    prev.id AS previous_run_id,
    cur.status,
    prev.status AS previous_status,
    cur.duration,
    prev.duration AS previous_duration,
    cur.duration - prev.duration AS duration_delta,
    CASE WHEN prev.id IS NOT NULL THEN (SELECT step FROM diverge) END AS first_divergent_step
FROM cur
LEFT JOIN prev ON true
