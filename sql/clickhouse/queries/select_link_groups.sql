-- The groups a pass must relink (load/links.go): journaled = 1 for every
-- group journaled after the last completed pass, journaled = 0 for the
-- other groups of the same scripts that hold counted runs (groups_state,
-- exact for every group not journaled). runs: a settled group's counted
-- runs, to size the relink's chunks (0 for a journaled group: its runs are
-- counted by select_link_group_runs.sql when the chunks need it).
SELECT script_id, day, toUInt8(1) AS journaled, toUInt64(0) AS runs
FROM pending_groups
WHERE pass_version > {after:UInt64}
GROUP BY script_id, day
UNION ALL
SELECT script_id, day, toUInt8(0) AS journaled, total AS runs
FROM groups_state FINAL
WHERE _is_deleted = 0 AND total > 0
  AND script_id IN (SELECT script_id FROM pending_groups WHERE pass_version > {after:UInt64})
