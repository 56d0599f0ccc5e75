-- Every live place of the runs named in the external table `run_ids`: a
-- run has one, or more after a pass was killed between writing it at its
-- new place and removing the old one (the next pass tombstones the extras).
SELECT run_id, script_id, day
FROM run_places FINAL
WHERE run_id IN (SELECT run_id FROM run_ids) AND _is_deleted = 0
ORDER BY run_id, script_id, day
