-- The links of the counted runs of the groups in the external table
-- `link_emit`, each run's previous counted run found among the groups in
-- `link_read` (a superset chosen by transform.LinkGroups so that it holds
-- every emitted run's previous run). runs_table is runs_state or
-- runs_by_id, which hold the same rows under FINAL (0007; load/links.go,
-- runsTableFor, says which reads less). first_divergent_step: the smallest
-- step index whose status differs, a step present in only one run counting
-- as differing (the first element of a duplicated index is compared); NULL
-- when none differs or when there is no previous run.
INSERT INTO run_links
    (run_id, script_id, day, status, duration, previous_run_id, previous_status, previous_duration,
     first_divergent_step, _version, _is_deleted)
SELECT
    run_id, script_id, day, status, duration, previous_run_id, previous_status, previous_duration,
    multiIf(
        previous_run_id IS NULL, NULL,
        -- Fast paths of the same definition: no steps on one side (a
        -- status is never empty, so every index of the other side differs),
        -- or the same distinct indexes in the same order.
        empty(cur_index) AND empty(prev_index), NULL,
        empty(cur_index), arrayMin(prev_index),
        empty(prev_index), arrayMin(cur_index),
        cur_index = prev_index AND length(arrayDistinct(cur_index)) = length(cur_index),
            arrayMin(arrayPushBack(arrayFilter((i, a, b) -> a != b, cur_index, cur_status, prev_status), NULL)),
        arrayMin(arrayPushBack(
            arrayFilter(
                i -> (if(indexOf(cur_index, i) = 0, '', cur_status[indexOf(cur_index, i)])
                      != if(indexOf(prev_index, i) = 0, '', prev_status[indexOf(prev_index, i)])),
                arrayConcat(cur_index, prev_index)),
            NULL))
    ),
    {version:UInt64}, 0
FROM
(
    SELECT
        run_id, script_id, day, status, duration,
        step_index AS cur_index,
        step_status AS cur_status,
        lagInFrame(toNullable(run_id)) OVER w AS previous_run_id,
        lagInFrame(toNullable(status)) OVER w AS previous_status,
        lagInFrame(duration) OVER w AS previous_duration,
        lagInFrame(step_index) OVER w AS prev_index,
        lagInFrame(step_status) OVER w AS prev_status
    FROM {runs_table:Identifier} FINAL
    WHERE _is_deleted = 0 AND status_class != 'unfinished'
      -- day alone lets runs_by_id's day_minmax index skip granules (0009).
      AND day IN (SELECT day FROM link_read)
      AND (script_id, day) IN (SELECT script_id, day FROM link_read)
    WINDOW w AS (PARTITION BY script_id ORDER BY ordered_at_us, run_id ROWS BETWEEN 1 PRECEDING AND CURRENT ROW)
)
WHERE (script_id, day) IN (SELECT script_id, day FROM link_emit)
