-- One run beside the previous counted run of its script, from the
-- run_vs_previous view, filtered by run id only (what an analyst writes).
SELECT run_id, previous_run_id, status, previous_status, duration, previous_duration, duration_delta, first_divergent_step
FROM run_vs_previous
WHERE run_id = {run:Int64}
