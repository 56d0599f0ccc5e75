-- Performance regressions: scripts whose typical duration (the median of
-- their daily p50) over the last 30 days of data moved most against the 30
-- days before.
WITH (SELECT max(day) FROM script_daily) AS last_day
SELECT
    script_name,
    round(medianExactIf(duration_p50, day > last_day - 30), 2) AS p50_last_30d,
    round(medianExactIf(duration_p50, day <= last_day - 30 AND day > last_day - 60), 2) AS p50_30d_before,
    round(p50_last_30d / p50_30d_before, 2) AS ratio
FROM script_daily
WHERE day > last_day - 60 AND duration_p50 IS NOT NULL
GROUP BY script_id, script_name
HAVING p50_30d_before > 0
ORDER BY abs(log(ratio)) DESC
LIMIT 10
