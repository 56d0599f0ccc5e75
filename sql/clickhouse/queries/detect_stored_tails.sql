-- The change tails of some scripts at the versions detect_stored_changes.sql
-- kept (FINAL), read without FINAL: a pass rewrites the tail of every script
-- it touches (~10 MB at 1M runs), and a FINAL read merged every unmerged
-- version of them (46 MB over five parts: 100–800 ms). PREWHERE reads the
-- tail bytes only of the granules holding a version asked for. A row of
-- another script at one of these versions may come too: the job keeps, per
-- script, the row at its own version (load/detection.go).
SELECT script_id, _version, tail
FROM duration_changes_state
PREWHERE script_id IN {ids:Array(Int64)} AND _version IN {versions:Array(UInt64)}
WHERE step_index = -2147483648 AND ordered_at_us = 9223372036854775807 AND run_id = 1 AND _is_deleted = 0
