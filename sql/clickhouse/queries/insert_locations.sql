INSERT INTO run_locations (run_id, script_id, day, _version, _is_deleted)
