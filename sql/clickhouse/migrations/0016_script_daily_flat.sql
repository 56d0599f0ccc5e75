-- script_daily as one flat SELECT of stored columns (issue 12: the trend
-- question at 1M runs).
--
-- Much of the trend's answer was the view's own analysis, not the read: the
-- same SELECT written out over groups_for_views FINAL answered in about half
-- the time, with the same pipeline (EXPLAIN PIPELINE is identical). 0010's
-- view nests a subquery (for the aliases n and p of the Wilson bounds) in
-- the view, and every level costs ClickHouse an analysis, a plan and a plan
-- optimisation of its own. See docs/performance.md, "The trend at 1M, sixth
-- round".
--
-- The Wilson bounds of success / total (z = 1.96; CONTRACT.md 2b) become
-- MATERIALIZED columns of groups_for_views: ClickHouse computes them when a
-- row is written (by groups_for_views_mirror, in the job's INSERT into
-- groups_state), with the very expressions 0010's view evaluated at query
-- time, so the view returns the same Float64 values, bit for bit. The job
-- writes nothing new: the mirror names its columns, and a MATERIALIZED
-- column cannot be written, only computed. Parts written before this
-- migration have no such column on disk: ClickHouse computes it from the
-- expression when it reads them (the same value), until a merge writes it.
-- Rows the view does not show (tombstones, total = 0) may hold NaN here;
-- the view filters them out as before.
ALTER TABLE groups_for_views
    ADD COLUMN IF NOT EXISTS success_rate_low Float64 MATERIALIZED
        if(success = 0, 0., greatest(0., ((success / toFloat64(total)) + 1.9208 / toFloat64(total) - 1.96 * sqrt((success / toFloat64(total)) * (1 - (success / toFloat64(total))) / toFloat64(total) + 0.9604 / (toFloat64(total) * toFloat64(total)))) / (1 + 3.8416 / toFloat64(total)))),
    ADD COLUMN IF NOT EXISTS success_rate_high Float64 MATERIALIZED
        if(success = total, 1., least(1., ((success / toFloat64(total)) + 1.9208 / toFloat64(total) + 1.96 * sqrt((success / toFloat64(total)) * (1 - (success / toFloat64(total))) / toFloat64(total) + 0.9604 / (toFloat64(total) * toFloat64(total)))) / (1 + 3.8416 / toFloat64(total))));

-- The same columns, types, order and values as 0010's view, in one SELECT:
-- no subquery, no expression but the name's (read only by the queries that
-- ask for it, as in 0010; rewritten to 0009's scalar lookup on a cluster and
-- on servers before 25.8, load/cluster.go). The name reads scripts_state
-- under FINAL itself, the rows of the view script_names: one view less for
-- ClickHouse to analyse in every query (~0.5-1 ms of the trend's ~12 ms, even
-- though the trend does not ask for the name). FINAL is scheduled as in 0010.
CREATE OR REPLACE VIEW script_daily SQL SECURITY DEFINER AS
SELECT
    g.script_id AS script_id,
    ifNull((SELECT s.name FROM scripts_state AS s FINAL WHERE s.script_id = g.script_id AND s._is_deleted = 0), concat('(unknown script ', toString(g.script_id), ')')) AS script_name,
    g.day AS day,
    g.total AS total,
    g.success AS success,
    g.failed AS failed,
    g.timeout AS timeout,
    g.cancelled AS cancelled,
    g.other AS other,
    g.success_rate AS success_rate,
    g.duration_count AS duration_count,
    g.invalid_duration AS invalid_duration,
    g.duration_avg AS duration_avg,
    g.duration_min AS duration_min,
    g.duration_max AS duration_max,
    g.duration_p50 AS duration_p50,
    g.duration_p90 AS duration_p90,
    g.duration_p95 AS duration_p95,
    g.duration_p99 AS duration_p99,
    g.success_duration_avg AS success_duration_avg,
    g.success_duration_p50 AS success_duration_p50,
    g.success_duration_p95 AS success_duration_p95,
    g.success_rate_low AS success_rate_low,
    g.success_rate_high AS success_rate_high
FROM groups_for_views AS g FINAL
WHERE g._is_deleted = 0 AND g.total > 0
SETTINGS split_intersecting_parts_ranges_into_layers_final = 0;
