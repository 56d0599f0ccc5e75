-- run_vs_previous: each counted run beside the previous counted run of the
-- same script, ordered by coalesce(started_at, created_at), then run id.
-- first_divergent_step: the smallest step index whose status differs, a step
-- present in only one run differing; with duplicate indexes the first
-- element of that index is compared (design.md); NULL when none differs or
-- when there is no previous run.
WITH ordered AS (
    SELECT
        run_id,
        script_id,
        status,
        duration,
        lag(run_id) OVER w AS previous_run_id,
        lag(status) OVER w AS previous_status,
        lag(duration) OVER w AS previous_duration
    FROM ref_runs
    WHERE counted
    WINDOW w AS (PARTITION BY script_id ORDER BY ordered_at, run_id)
),
first_steps AS (
    SELECT DISTINCT ON (run_id, step_index) run_id, step_index, status
    FROM ref_steps
    ORDER BY run_id, step_index, ord
),
-- Every step index of either run of a pair.
candidates AS (
    SELECT o.run_id, o.previous_run_id, f.step_index
    FROM ordered AS o JOIN first_steps AS f ON f.run_id = o.run_id
    WHERE o.previous_run_id IS NOT NULL
    UNION
    SELECT o.run_id, o.previous_run_id, f.step_index
    FROM ordered AS o JOIN first_steps AS f ON f.run_id = o.previous_run_id
),
divergent AS (
    SELECT c.run_id, min(c.step_index) AS first_divergent_step
    FROM candidates AS c
    LEFT JOIN first_steps AS cur ON cur.run_id = c.run_id AND cur.step_index = c.step_index
    LEFT JOIN first_steps AS prev ON prev.run_id = c.previous_run_id AND prev.step_index = c.step_index
    WHERE cur.status IS DISTINCT FROM prev.status
    GROUP BY c.run_id
)
SELECT
    o.run_id,
    o.previous_run_id,
    o.script_id,
    o.status,
    o.previous_status,
    o.duration,
    o.previous_duration,
    o.duration - o.previous_duration AS duration_delta,
    d.first_divergent_step
FROM ordered AS o
LEFT JOIN divergent AS d ON d.run_id = o.run_id
