-- Two runs side by side (the runs view's columns), from task_log. $1 the
-- run ids (bigint[]).
SELECT
    t.id AS run_id,
    t.script_id,
    coalesce(sc.name, '(unknown script ' || t.script_id || ')') AS script_name,
    (coalesce(t.started_at, t.created_at) AT TIME ZONE 'UTC')::date AS day,
    t.status,
    t.started_at,
    t.finished_at,
    coalesce(t.duration, extract(epoch FROM t.finished_at - t.started_at)::float8) AS duration,
    t.failed_step_index,
    t.failed_step_name,
    left(t.error_message, 4096) AS error_message
FROM task_log t
LEFT JOIN scripts sc ON sc.id = t.script_id
WHERE t.id = ANY($1)
ORDER BY t.id
