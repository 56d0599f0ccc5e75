-- Steps that are not healthy as of the latest pass (step_health): broken
-- steps first, then the highest failure rates. By state alone, steps newly
-- failing with one failure in 300 came before a step flaky at 16 % and
-- filled the 20 rows (make demo).
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
ORDER BY state = 'broken' DESC, failure_rate DESC, failures DESC
LIMIT 20
