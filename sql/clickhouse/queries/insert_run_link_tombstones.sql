-- A run of a journaled group that is live but not counted (unfinished) has
-- no link: tombstone any it had. Runs that left a place get their tombstone
-- from the materialized view run_links_tombstones. runs_table: runs_state or
-- runs_by_id, the same rows under FINAL (load/links.go, runsTableFor).
INSERT INTO run_links (run_id, script_id, day, _version, _is_deleted)
SELECT run_id, script_id, day, {version:UInt64}, 1
FROM {runs_table:Identifier} FINAL
WHERE _is_deleted = 0 AND status_class = 'unfinished'
  AND day IN (SELECT day FROM pending_groups WHERE pass_version > {after:UInt64})
  AND (script_id, day) IN (SELECT script_id, day FROM pending_groups WHERE pass_version > {after:UInt64})
