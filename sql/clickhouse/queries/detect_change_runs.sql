-- The counted runs of some scripts from a day on, in the order of the
-- duration series (coalesce(started_at, created_at), run id), with only what
-- the series and the change-point rows need: the run's status class and
-- duration, its steps packed (agg_steps: index, status, name; the errors of
-- failed steps come along, the only texts) and their durations (in the same
-- order). No error message, no other times. runs_state is ordered by
-- (script_id, day, run_id) and partitioned by month, so this is one key range
-- per script and the months before from are not opened.
--
-- The step durations come as one string: each value's IEEE 754 bits as 16
-- hex digits, in step order (NULL as NaN: neither is a series value). The
-- driver scans an Array(Nullable(Float64)) by reflection, a pointer per
-- value: that was a third of the job's CPU in an incremental pass; the
-- string is decoded without allocating (load/detection.go, stepDurationBits).
-- The bits are exact: no decimal text, no rounding.
SELECT script_id, day, run_id, status_class, ordered_at_us, duration, agg_steps,
    arrayStringConcat(arrayMap(d -> leftPad(hex(reinterpretAsUInt64(ifNull(d, nan))), 16, '0'), step_duration)) AS step_duration_bits
FROM runs_state FINAL
WHERE _is_deleted = 0
  AND status_class != 'unfinished'
  AND script_id IN {ids:Array(Int64)}
  AND day >= {from:Date32}
ORDER BY script_id, ordered_at_us, run_id
SETTINGS max_block_size = 4096
