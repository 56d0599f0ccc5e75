-- The links of the counted runs of the groups in the external table
-- `link_emit`, each run's previous counted run found among the groups in
-- `link_read` (a superset chosen by transform.LinkGroups so that it holds
-- every emitted run's previous run).
INSERT INTO run_links
    (run_id, script_id, day, status, duration, step_index, step_status,
     previous_run_id, previous_status, previous_duration, previous_step_index, previous_step_status,
     _version, _is_deleted)
SELECT
    run_id, script_id, day, status, duration, step_index, step_status,
    previous_run_id, previous_status, previous_duration, previous_step_index, previous_step_status,
    {version:UInt64}, 0
FROM
(
    SELECT
        run_id, script_id, day, status, duration, step_index, step_status,
        lagInFrame(toNullable(run_id)) OVER w AS previous_run_id,
        lagInFrame(toNullable(status)) OVER w AS previous_status,
        lagInFrame(duration) OVER w AS previous_duration,
        lagInFrame(step_index) OVER w AS previous_step_index,
        lagInFrame(step_status) OVER w AS previous_step_status
    FROM runs_state FINAL
    WHERE _is_deleted = 0 AND status_class != 'unfinished'
      AND (script_id, day) IN (SELECT script_id, day FROM link_read)
    WINDOW w AS (PARTITION BY script_id ORDER BY ordered_at_us, run_id ROWS BETWEEN 1 PRECEDING AND CURRENT ROW)
)
WHERE (script_id, day) IN (SELECT script_id, day FROM link_emit)
