-- Runs by id: what became of runs that left a range of days.
WHERE id = ANY($2)
