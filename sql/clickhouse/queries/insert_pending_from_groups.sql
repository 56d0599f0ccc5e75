-- Journal every group that exists for a range of days, so that groups left
-- without runs get their tombstone.
INSERT INTO pending_groups (pass_version, script_id, day)
SELECT {version:UInt64}, script_id, day
FROM groups_state FINAL
WHERE day >= {from:Date32} AND day <= {to:Date32} AND _is_deleted = 0
