SELECT script_id, name FROM scripts_state FINAL WHERE _is_deleted = 0
