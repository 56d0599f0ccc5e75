-- What bounds the updated_at stamps of the transactions a pass's snapshot
-- will not see (schedules/watermark.go). Runs as a statement of its own on
-- another connection, BEFORE the snapshot is taken: a transaction that is
-- not visible to the snapshot was either open now (its start is listed
-- here, or it is prepared) or starts after read_at.
--
-- Sessions of other roles show no xact_start without pg_read_all_stats (or
-- superuser): they are counted as hidden, and the guarantee then rests on
-- the lookback and the marker transaction ids (the pass says so).
WITH sessions AS (
    SELECT a.pid, a.usename, a.application_name, a.xact_start,
           a.query = '<insufficient privilege>' AS hidden
    FROM pg_stat_activity AS a
    WHERE a.datname = current_database()
      AND a.pid <> pg_backend_pid()
      AND (a.backend_type IN ('client backend', 'background worker')
           OR a.query = '<insufficient privilege>')
),
oldest AS (
    SELECT pid, usename, application_name, xact_start
    FROM sessions
    WHERE xact_start IS NOT NULL
    ORDER BY xact_start
    LIMIT 1
)
SELECT
    clock_timestamp() AS read_at,
    pg_is_in_recovery() AS in_recovery,
    CASE WHEN pg_is_in_recovery() THEN pg_last_xact_replay_timestamp() END AS replay_at,
    (SELECT xact_start FROM oldest) AS oldest_start,
    coalesce((SELECT format('pid %s, user %s, application %s', pid, coalesce(usename, '?'),
                            coalesce(nullif(application_name, ''), '?')) FROM oldest), '') AS oldest_session,
    (SELECT count(*) FROM sessions WHERE hidden) AS hidden_sessions,
    ARRAY(SELECT p.transaction::text::bigint FROM pg_prepared_xacts AS p
          WHERE p.database = current_database() ORDER BY 1) AS prepared_xids,
    ARRAY(SELECT p.prepared FROM pg_prepared_xacts AS p
          WHERE p.database = current_database() ORDER BY p.transaction::text::bigint) AS prepared_at;
