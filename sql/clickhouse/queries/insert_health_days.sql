INSERT INTO health_days_state (
    script_id, day, group_version, runs, first_at_us, first_run_id, last_at_us, last_run_id, steps,
    _version, _is_deleted
)
