-- Every guard is a CASE: PostgreSQL does not promise to evaluate AND
-- operands in order, and casts of non-numbers would fail.
WITH arrays AS (
    SELECT r.*,
           CASE WHEN jsonb_typeof(r.steps) = 'array' THEN r.steps ELSE '[]'::jsonb END AS arr
    FROM ref_counted r
),
elements AS (
    SELECT
        a.id AS run_id, a.script_id, a.day, a.ordered_at, a.failure_at, a.error_message,
        e.elem, e.ord,
        CASE WHEN jsonb_typeof(e.elem) = 'object' AND jsonb_typeof(e.elem -> 'index') = 'number'
             THEN (e.elem ->> 'index')::numeric END AS idx
    FROM arrays a
    CROSS JOIN LATERAL jsonb_array_elements(a.arr) WITH ORDINALITY AS e(elem, ord)
),
steps AS (
    -- Steps from a non-empty steps array: objects with an integral index in
    -- int range and a known status.
    SELECT
        run_id, script_id, day, ordered_at, failure_at,
        idx::int AS step_index,
        elem ->> 'name' AS step_name,
        elem ->> 'status' AS status,
        coalesce(elem ->> 'error', CASE WHEN elem ->> 'status' = 'failed' THEN error_message END) AS error,
        ord
    FROM elements
    WHERE idx IS NOT NULL
      AND idx = trunc(idx)
      AND idx BETWEEN -2147483648 AND 2147483647
      AND elem ->> 'status' IN ('success', 'failed', 'skipped')
    UNION ALL
    -- Otherwise the single failed step of failed_step_index.
    SELECT
        a.id, a.script_id, a.day, a.ordered_at, a.failure_at,
        a.failed_step_index, a.failed_step_name, 'failed', a.error_message, 1
    FROM arrays a
    WHERE jsonb_array_length(a.arr) = 0
      AND a.failed_step_index IS NOT NULL
)
SELECT
    script_id,
    step_index,
    day::text,
    (array_agg(step_name ORDER BY ordered_at DESC, run_id DESC, ord DESC) FILTER (WHERE step_name IS NOT NULL))[1] AS step_name,
    count(*) AS attempts,
    count(*) FILTER (WHERE status = 'failed') AS failures,
    (count(*) FILTER (WHERE status = 'failed'))::float8 / count(*) AS failure_rate,
    max(failure_at) FILTER (WHERE status = 'failed') AS last_failure_at,
    (array_agg(error ORDER BY failure_at DESC, run_id DESC, ord DESC) FILTER (WHERE status = 'failed'))[1] AS last_error
FROM steps
WHERE status IN ('success', 'failed')
GROUP BY script_id, step_index, day
ORDER BY script_id, day, step_index;
