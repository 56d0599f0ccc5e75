-- The steps of two runs (the run_steps view's columns), from task_log. $1
-- the run ids (bigint[]).
WITH r AS (
    SELECT
        id, script_id, steps, failed_step_index, failed_step_name, error_message,
        jsonb_typeof(steps) = 'array' AND jsonb_array_length(CASE WHEN jsonb_typeof(steps) = 'array' THEN steps ELSE '[]' END) > 0 AS has_steps
    FROM task_log
    WHERE id = ANY($1)
), s AS (
    SELECT
        r.id AS run_id, r.script_id, (e ->> 'index')::int AS step_index, e ->> 'name' AS step_name,
        e ->> 'status' AS status, (e ->> 'duration')::float8 AS duration,
        left(CASE WHEN e ->> 'status' = 'failed' THEN coalesce(e ->> 'error', r.error_message) ELSE e ->> 'error' END, 4096) AS error
    FROM r
    CROSS JOIN LATERAL jsonb_array_elements(CASE WHEN r.has_steps THEN r.steps ELSE '[]' END) AS e
    WHERE jsonb_typeof(e) = 'object' AND jsonb_typeof(e -> 'index') = 'number'
      AND e ->> 'status' IN ('success', 'failed', 'skipped')
    UNION ALL
    SELECT id, script_id, failed_step_index, failed_step_name, 'failed', NULL, left(error_message, 4096)
    FROM r
    WHERE NOT coalesce(has_steps, false) AND failed_step_index IS NOT NULL
)
SELECT run_id, script_id, step_index, step_name, status, duration, error
FROM s
ORDER BY run_id, step_index
