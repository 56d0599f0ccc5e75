-- The 20 steps of all scripts with the most failures over the window,
-- computed from task_log. $1/$2 the window (timestamptz).
WITH r AS (
    SELECT
        id, script_id,
        coalesce(started_at, created_at) AS ordered_at,
        steps, failed_step_index, failed_step_name,
        jsonb_typeof(steps) = 'array' AND jsonb_array_length(CASE WHEN jsonb_typeof(steps) = 'array' THEN steps ELSE '[]' END) > 0 AS has_steps
    FROM task_log
    WHERE status NOT IN ('pending', 'queued', 'running')
      AND coalesce(started_at, created_at) >= $1
      AND coalesce(started_at, created_at) < $2
), s AS (
    SELECT r.id, r.script_id, r.ordered_at, (e ->> 'index')::int AS step_index, e ->> 'name' AS step_name, e ->> 'status' AS status
    FROM r
    CROSS JOIN LATERAL jsonb_array_elements(CASE WHEN r.has_steps THEN r.steps ELSE '[]' END) AS e
    WHERE jsonb_typeof(e) = 'object' AND jsonb_typeof(e -> 'index') = 'number'
    UNION ALL
    SELECT id, script_id, ordered_at, failed_step_index, failed_step_name, 'failed'
    FROM r
    WHERE NOT coalesce(has_steps, false) AND failed_step_index IS NOT NULL
), a AS (
    SELECT
        script_id,
        step_index,
        (array_agg(step_name ORDER BY ordered_at DESC, id DESC) FILTER (WHERE step_name IS NOT NULL))[1] AS step_name,
        count(*) FILTER (WHERE status = 'failed') AS failures,
        count(*) AS attempts
    FROM s
    WHERE status IN ('success', 'failed')
    GROUP BY script_id, step_index
)
SELECT
    a.script_id,
    coalesce(sc.name, '(unknown script ' || a.script_id || ')') AS script_name,
    a.step_index,
    a.step_name,
    a.failures,
    a.attempts,
    a.failures::float8 / a.attempts AS failure_rate
FROM a
LEFT JOIN scripts sc ON sc.id = a.script_id
ORDER BY a.failures DESC, a.script_id, a.step_index
LIMIT 20
