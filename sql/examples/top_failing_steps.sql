-- The steps that fail most over the last 30 days of data.
SELECT
    script_name,
    step_index,
    argMax(step_name, day) AS step_name,
    sum(failures) AS failures,
    sum(attempts) AS attempts,
    round(sum(failures) / sum(attempts) * 100, 1) AS failure_pct,
    max(last_failure_at) AS last_failure_at
FROM step_daily
WHERE day > (SELECT max(day) FROM step_daily) - 30
GROUP BY script_id, script_name, step_index
ORDER BY failures DESC
LIMIT 10
