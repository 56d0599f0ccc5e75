-- The slot's state: whether it exists, how far it is confirmed, whether its
-- WAL is still there (wal_status 'lost': invalidated by
-- max_slot_wal_keep_size), and the WAL end a pass reads up to: the INSERT
-- position, past every commit made before this query. Logical decoding
-- reads only flushed WAL, so the pass then waits until the WAL is flushed
-- that far (a commit made with synchronous_commit = off is flushed a little
-- later by the WAL writer).
SELECT
    pg_current_wal_insert_lsn()::text AS wal_end,
    (SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = $1) AS confirmed,
    coalesce((SELECT wal_status FROM pg_replication_slots WHERE slot_name = $1), '') AS wal_status,
    coalesce((SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), confirmed_flush_lsn)::bigint
              FROM pg_replication_slots WHERE slot_name = $1), 0) AS lag_bytes,
    EXISTS (SELECT 1 FROM pg_publication WHERE pubname = $2) AS publication;
