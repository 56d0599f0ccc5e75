-- Runs of a range of days that the current pass did not rewrite: deleted at
-- the source, or moved out of the range.
SELECT run_id, script_id, day
FROM runs_state FINAL
WHERE day >= {from:Date32} AND day <= {to:Date32}
  AND _is_deleted = 0
  AND _version < {version:UInt64}
ORDER BY run_id, script_id, day
