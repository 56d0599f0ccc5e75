-- Detected duration changes of whole runs (duration_changes, run level),
-- latest first, with the step whose median moved most between the same runs.
SELECT
    script_name,
    day,
    direction,
    round(ratio, 2) AS ratio,
    round(median_before, 2) AS median_before_s,
    round(median_after, 2) AS median_after_s,
    runs_before,
    runs_after,
    top_step_name AS what_changed,
    round(top_step_delta, 2) AS step_delta_s
FROM duration_changes
WHERE step_index IS NULL
ORDER BY day DESC, script_name
LIMIT 15
