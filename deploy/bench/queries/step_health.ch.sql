-- Detection (issue 10): the steps that are not healthy as of the latest pass,
-- broken first, then by failure rate (step_health; sql/examples/unhealthy_steps.sql).
SELECT script_id, script_name, step_index, step_name, state, since, executions, failures,
    failure_rate, failure_rate_low, failure_rate_high, flip_rate, last_failure_at, last_error, as_of
FROM step_health
WHERE state != 'healthy'
ORDER BY state = 'broken' DESC, failure_rate DESC, failures DESC
