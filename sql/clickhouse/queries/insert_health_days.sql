INSERT INTO health_days_state (
    script_id, day, group_version, runs, first_at_us, first_run_id, last_at_us, last_run_id,
    step_index, step_executions, step_failures, step_flips, step_first_at_us,
    step_first_failed, step_lead, step_last_failed, step_trail, step_trail_at_us,
    step_failures_before_trail, step_first_failure, step_first_failure_at_us,
    step_name, step_last_failure_at_us, step_last_failure_run_id, step_last_error,
    _version, _is_deleted
)
