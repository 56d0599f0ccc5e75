-- success_rate_drops (issue 10) reads groups_for_views itself and looks the
-- script name up for the drops only.
--
-- 0005's view windowed over script_daily, whose script name is a correlated
-- lookup of every row: a question for the drops of 90 days computed the
-- baseline window over every day of every script (a view cannot see the
-- question's days: the baseline of a day reads the 28 days before it), and
-- looked a name up for each of those rows before the few drops were kept.
-- On a history of 5,000 scripts over a year (680,000 script days) that was
-- ~1 s a question, 0.6 s of it the names (docs/performance.md, "Fourteenth
-- round"). The rows, columns, types, order and values are 0005's: the same
-- script days (groups_for_views under FINAL, not deleted, with counted runs,
-- as script_daily reads them), the same window and the same expressions.
CREATE OR REPLACE VIEW success_rate_drops SQL SECURITY DEFINER AS
SELECT
    g.script_id AS script_id,
    ifNull((SELECT s.name FROM scripts_state AS s FINAL WHERE s.script_id = g.script_id AND s._is_deleted = 0), concat('(unknown script ', toString(g.script_id), ')')) AS script_name,
    g.day AS day,
    g.total AS total,
    g.success_rate AS success_rate,
    g.success_rate_low AS success_rate_low,
    g.success_rate_high AS success_rate_high,
    g.baseline_runs AS baseline_runs,
    g.baseline_rate AS baseline_rate,
    g.baseline_low AS baseline_low,
    g.baseline_high AS baseline_high
FROM
(
    SELECT
        script_id,
        day,
        total,
        success_rate,
        success_rate_low,
        success_rate_high,
        baseline_runs,
        baseline_success / toFloat64(baseline_runs) AS baseline_rate,
        if(baseline_success = 0, 0., greatest(0., (baseline_success / toFloat64(baseline_runs) + 1.9208 / baseline_runs
            - 1.96 * sqrt((baseline_success / toFloat64(baseline_runs)) * (1 - baseline_success / toFloat64(baseline_runs)) / baseline_runs
                          + 0.9604 / (toFloat64(baseline_runs) * baseline_runs))) / (1 + 3.8416 / baseline_runs))) AS baseline_low,
        if(baseline_success = baseline_runs, 1., least(1., (baseline_success / toFloat64(baseline_runs) + 1.9208 / baseline_runs
            + 1.96 * sqrt((baseline_success / toFloat64(baseline_runs)) * (1 - baseline_success / toFloat64(baseline_runs)) / baseline_runs
                          + 0.9604 / (toFloat64(baseline_runs) * baseline_runs))) / (1 + 3.8416 / baseline_runs))) AS baseline_high
    FROM
    (
        SELECT
            script_id,
            day,
            total,
            success_rate,
            success_rate_low,
            success_rate_high,
            sum(total) OVER w AS baseline_runs,
            sum(success) OVER w AS baseline_success
        FROM groups_for_views FINAL
        WHERE _is_deleted = 0 AND total > 0
        WINDOW w AS (PARTITION BY script_id ORDER BY toInt32(day) RANGE BETWEEN 28 PRECEDING AND 1 PRECEDING)
    )
    WHERE baseline_runs >= 20
) AS g
WHERE g.success_rate_high < g.baseline_low;
