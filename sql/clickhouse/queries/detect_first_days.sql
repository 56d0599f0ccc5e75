-- The first day each script has stored runs (a lower bound: tombstones
-- included), to know when a read from a day holds a whole series.
SELECT script_id, min(day) AS first_day
FROM runs_state
WHERE script_id IN {ids:Array(Int64)}
GROUP BY script_id
