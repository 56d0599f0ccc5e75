-- The counted run before each of the given runs, with its status and
-- duration (all the report shows of it, besides its steps). script_id
-- narrows the window the view computes to the scripts of those runs.
SELECT run_id, previous_run_id, previous_status, previous_duration
FROM run_vs_previous
WHERE script_id IN {scripts:Array(Int64)} AND run_id IN {ids:Array(Int64)}
