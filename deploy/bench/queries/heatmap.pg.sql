-- Heatmap of one script: step_daily rows (step x day) over the window,
-- computed from task_log. $1 script id, $2/$3 the window (timestamptz).
WITH r AS (
    SELECT
        id,
        (coalesce(started_at, created_at) AT TIME ZONE 'UTC')::date AS day,
        coalesce(started_at, created_at) AS ordered_at,
        steps, failed_step_index, failed_step_name,
        jsonb_typeof(steps) = 'array' AND jsonb_array_length(CASE WHEN jsonb_typeof(steps) = 'array' THEN steps ELSE '[]' END) > 0 AS has_steps
    FROM task_log
    WHERE script_id = $1
      AND status NOT IN ('pending', 'queued', 'running')
      AND coalesce(started_at, created_at) >= $2
      AND coalesce(started_at, created_at) < $3
), s AS (
    SELECT r.id, r.day, r.ordered_at, (e ->> 'index')::int AS step_index, e ->> 'name' AS step_name, e ->> 'status' AS status
    FROM r
    CROSS JOIN LATERAL jsonb_array_elements(CASE WHEN r.has_steps THEN r.steps ELSE '[]' END) AS e
    WHERE jsonb_typeof(e) = 'object' AND jsonb_typeof(e -> 'index') = 'number'
    UNION ALL
    SELECT id, day, ordered_at, failed_step_index, failed_step_name, 'failed'
    FROM r
    WHERE NOT coalesce(has_steps, false) AND failed_step_index IS NOT NULL
)
SELECT
    day,
    step_index,
    (array_agg(step_name ORDER BY ordered_at DESC, id DESC) FILTER (WHERE step_name IS NOT NULL))[1] AS step_name,
    count(*) AS attempts,
    count(*) FILTER (WHERE status = 'failed') AS failures,
    (count(*) FILTER (WHERE status = 'failed'))::float8 / count(*) AS failure_rate
FROM s
WHERE status IN ('success', 'failed')
GROUP BY day, step_index
ORDER BY step_index, day
