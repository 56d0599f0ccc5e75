-- Every run id stored in a live place, ascending: what a logical pass
-- re-reads after task_log was truncated at the source.
SELECT DISTINCT run_id
FROM run_places FINAL
WHERE _is_deleted = 0
ORDER BY run_id
