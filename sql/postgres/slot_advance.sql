-- Confirms the slot up to an LSN: the changes before it are not sent again.
SELECT pg_replication_slot_advance($1, $2::pg_lsn)::text;
