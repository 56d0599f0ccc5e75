INSERT INTO groups_state (
    script_id, day, total, success, failed, timeout, cancelled, other, success_rate,
    duration_count, invalid_duration, duration_avg, duration_min, duration_max,
    duration_p50, duration_p90, duration_p95, duration_p99,
    success_duration_avg, success_duration_p50, success_duration_p95,
    step_index, step_name, step_attempts, step_failures, step_failure_rate,
    step_last_failure_at, step_last_error,
    _version, _is_deleted
)
