-- The scripts with a group journaled by passes after the last completed one,
-- with the first and last such day: what detection recomputes.
SELECT script_id, min(day) AS first_day, max(day) AS last_day
FROM pending_groups
WHERE pass_version > {after:UInt64}
GROUP BY script_id
ORDER BY script_id
