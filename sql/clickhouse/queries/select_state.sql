SELECT key, value FROM job_state FINAL
