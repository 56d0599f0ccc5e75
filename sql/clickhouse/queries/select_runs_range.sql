-- The runs of a range of days with their steps, for verify: the columns of
-- the runs view and the step arrays that run_steps unfolds, read from the
-- table both views read (runs_by_id under FINAL, live rows; every version
-- of a row has the same day, so the day filter is the view's). Blocks of
-- 4,096 rows: the driver decodes a whole block, and 65,536 rows with their
-- steps took a verify of 200,000 runs from 124 to 636 MB.
SELECT
    script_id, day, run_id, status, started_at, finished_at, duration,
    failed_step_index, failed_step_name, error_message,
    step_index, step_name, step_status, step_duration, step_error
FROM runs_by_id FINAL
WHERE _is_deleted = 0 AND day >= {from:Date32} AND day <= {to:Date32}
ORDER BY script_id, day, run_id
SETTINGS max_block_size = 4096
