INSERT INTO step_health_state (
    script_id, step_index, step_name, state, since, executions, failures, failure_rate,
    failure_rate_low, failure_rate_high, flip_rate, last_failure_at, last_error, _version, _is_deleted
)
