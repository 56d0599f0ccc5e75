INSERT INTO duration_changes_state (
    script_id, step_index, ordered_at_us, run_id, step_name, previous_run_id, changed_at, day,
    runs_before, runs_after, median_before, median_after, ratio, p_value, effect_size, direction,
    top_step_index, top_step_name, top_step_delta, quiet_from_us, quiet_from_run_id, tail, _version, _is_deleted
)
