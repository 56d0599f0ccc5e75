-- Performance regressions: scripts whose median duration (p50) over the
-- last 14 days of data moved most against the 14 days before.
WITH (SELECT max(day) FROM script_daily) AS last_day
SELECT
    script_name,
    round(medianExactIf(duration_p50, day > last_day - 14), 2) AS p50_last_14d,
    round(medianExactIf(duration_p50, day <= last_day - 14 AND day > last_day - 28), 2) AS p50_before,
    round(p50_last_14d / p50_before, 2) AS ratio
FROM script_daily
WHERE day > last_day - 28 AND duration_p50 IS NOT NULL
GROUP BY script_id, script_name
HAVING p50_before > 0
ORDER BY abs(log(ratio)) DESC
LIMIT 10
