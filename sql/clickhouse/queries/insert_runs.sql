INSERT INTO runs_state (
    script_id, day, run_id, status, status_class, ordered_at_us, created_at_us, updated_at_us, failure_at_us,
    started_at, finished_at, reported_duration, duration, failed_step_index, failed_step_name,
    error_message, step_index, step_name, step_status, step_duration, step_error,
    agg_steps, _version, _is_deleted
)
