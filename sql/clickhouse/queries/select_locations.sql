-- Current location of the runs named in the external table `run_ids`.
SELECT run_id, script_id, day
FROM run_locations FINAL
WHERE run_id IN (SELECT run_id FROM run_ids) AND _is_deleted = 0
