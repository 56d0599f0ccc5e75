-- Steps that are not healthy as of the latest pass (step_health), the worst
-- states first.
SELECT
    script_name,
    step_index,
    step_name,
    state,
    since,
    executions,
    failures,
    round(failure_rate, 3) AS failure_rate,
    round(flip_rate, 3) AS flip_rate
FROM step_health
WHERE state != 'healthy'
ORDER BY indexOf(['broken', 'newly_failing', 'flaky', 'recovered'], state), failure_rate DESC
LIMIT 20
