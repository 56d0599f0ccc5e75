-- Detection (issue 10): every duration change point of every script and step
-- in the 90-day window, latest first, as a "what got slower" dashboard lists
-- them (duration_changes).
SELECT script_id, script_name, step_index, step_name, run_id, previous_run_id, changed_at, day,
    runs_before, runs_after, median_before, median_after, ratio, p_value, effect_size, direction,
    top_step_index, top_step_name, top_step_delta
FROM duration_changes
WHERE day BETWEEN {from:Date32} AND {to:Date32}
ORDER BY changed_at DESC, script_id, step_index
