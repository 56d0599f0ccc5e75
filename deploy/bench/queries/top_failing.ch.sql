-- The 20 steps of all scripts with the most failures over the window, from
-- the step_daily view.
SELECT
    script_id,
    any(script_name) AS script_name,
    step_index,
    argMax(step_name, day) AS step_name,
    sum(failures) AS failures,
    sum(attempts) AS attempts,
    failures / attempts AS failure_rate
FROM step_daily
WHERE day BETWEEN {from:Date32} AND {to:Date32}
GROUP BY script_id, step_index
ORDER BY failures DESC, script_id, step_index
LIMIT 20
