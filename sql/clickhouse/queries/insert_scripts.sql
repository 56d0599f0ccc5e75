INSERT INTO scripts_state (script_id, name, _version, _is_deleted)
