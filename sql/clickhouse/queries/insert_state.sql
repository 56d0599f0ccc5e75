INSERT INTO job_state (key, value, _version)
