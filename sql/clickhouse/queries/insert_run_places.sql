INSERT INTO run_places (run_id, script_id, day, _version, _is_deleted)
