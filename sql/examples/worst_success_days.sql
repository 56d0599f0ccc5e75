-- Stability: the script-days with the lowest success rate (days with at
-- least 20 finished runs, so that one unlucky run does not top the list).
SELECT
    script_name,
    day,
    total,
    failed + timeout AS failed_or_timeout,
    round(success_rate * 100, 1) AS success_pct
FROM script_daily
WHERE total >= 20
ORDER BY success_rate ASC, total DESC
LIMIT 10
