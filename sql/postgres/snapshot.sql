-- The pass's snapshot: its database time and the transaction ids that were
-- still in progress. Runs first in a REPEATABLE READ transaction, so every
-- later read of the pass sees exactly this snapshot. Needs no privilege.
SELECT
    now() AS snapshot_time,
    pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS xmin,
    pg_snapshot_xmax(pg_current_snapshot())::text::bigint AS xmax,
    ARRAY(SELECT x::text::bigint FROM pg_snapshot_xip(pg_current_snapshot()) AS x) AS in_progress;
