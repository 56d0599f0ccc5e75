INSERT INTO health_checks (script_id, next_check_us, _version, _is_deleted)
