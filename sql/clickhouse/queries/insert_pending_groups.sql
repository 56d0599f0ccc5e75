INSERT INTO pending_groups (pass_version, script_id, day)
