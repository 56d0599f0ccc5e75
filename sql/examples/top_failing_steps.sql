-- The steps that fail most over the last 30 days of data.
SELECT
    script_name,
    step_index,
    argMax(step_name, day) AS step_name,
    sum(failures) AS failures_30d,
    sum(attempts) AS attempts_30d,
    round(failures_30d / attempts_30d * 100, 1) AS failure_pct,
    max(last_failure_at) AS latest_failure
FROM step_daily
WHERE day > (SELECT max(day) FROM step_daily) - 30
GROUP BY script_id, script_name, step_index
ORDER BY failures_30d DESC
LIMIT 10
