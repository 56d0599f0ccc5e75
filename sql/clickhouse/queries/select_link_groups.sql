-- The groups a pass must relink (load/links.go): journaled = 1 for every
-- group journaled after the last completed pass, journaled = 0 for the
-- other groups of the same scripts that hold counted runs (groups_state,
-- exact for every group not journaled).
SELECT script_id, day, toUInt8(1) AS journaled
FROM pending_groups
WHERE pass_version > {after:UInt64}
GROUP BY script_id, day
UNION ALL
SELECT script_id, day, toUInt8(0) AS journaled
FROM groups_state FINAL
WHERE _is_deleted = 0 AND total > 0
  AND script_id IN (SELECT script_id FROM pending_groups WHERE pass_version > {after:UInt64})
