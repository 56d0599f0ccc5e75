-- The counted run before each of the given runs.
SELECT run_id, previous_run_id
FROM run_vs_previous
WHERE script_id IN {scripts:Array(Int64)} AND run_id IN {ids:Array(Int64)}
