-- The counted runs of some scripts from a day on (a day per script), in the
-- order of the duration series (coalesce(started_at, created_at), run id),
-- with their steps: the input of change detection and step health. The
-- step errors (the heaviest column) only when asked for (step health).
SELECT
    script_id, day, run_id, status_class, ordered_at_us, failure_at_us, duration,
    step_index, step_name, step_status, step_duration,
    if({with_errors:UInt8} = 1, step_error, CAST([] AS Array(Nullable(String)))) AS step_error
FROM runs_state FINAL
WHERE _is_deleted = 0
  AND status_class != 'unfinished'
  AND script_id IN {ids:Array(Int64)}
  AND day >= {min_start:Date32}
  AND day >= arrayElement({starts:Array(Date32)}, indexOf({ids:Array(Int64)}, script_id))
ORDER BY script_id, ordered_at_us, run_id
SETTINGS max_block_size = 4096
