-- success_rate_drops (contract section 2b): a script day whose Wilson high
-- of success / total is below the Wilson low of the pooled counted runs of
-- the same script over the 28 calendar days before it (days d-28 .. d-1),
-- when those are at least 20 runs.
WITH days AS (
    SELECT script_id, day, min(script_name) AS script_name, count(*) AS total,
           count(*) FILTER (WHERE status = 'success') AS success
    FROM ref_runs
    WHERE counted
    GROUP BY script_id, day
),
based AS (
    SELECT d.*, b.runs AS baseline_runs, b.success AS baseline_success
    FROM days AS d
    CROSS JOIN LATERAL (
        SELECT coalesce(sum(p.total), 0)::bigint AS runs, coalesce(sum(p.success), 0)::bigint AS success
        FROM days AS p
        WHERE p.script_id = d.script_id AND p.day >= d.day - 28 AND p.day < d.day
    ) AS b
)
SELECT
    script_id,
    day::text AS day,
    script_name,
    total,
    success::float8 / total AS success_rate,
    pg_temp.ref_wilson(success, total, false) AS success_rate_low,
    pg_temp.ref_wilson(success, total, true) AS success_rate_high,
    baseline_runs,
    baseline_success::float8 / baseline_runs AS baseline_rate,
    pg_temp.ref_wilson(baseline_success, baseline_runs, false) AS baseline_low,
    pg_temp.ref_wilson(baseline_success, baseline_runs, true) AS baseline_high
FROM based
WHERE baseline_runs >= 20
  AND pg_temp.ref_wilson(success, total, true) < pg_temp.ref_wilson(baseline_success, baseline_runs, false)
