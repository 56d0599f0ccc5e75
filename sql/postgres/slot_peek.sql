-- The changes of the slot's publication committed before $2 (an LSN), in
-- pgoutput's binary form, without consuming them: a pass advances the slot
-- (slot_advance) only once ClickHouse holds their effect. Needs REPLICATION.
SELECT data
FROM pg_logical_slot_peek_binary_changes($1, $2::pg_lsn, NULL,
    'proto_version', '1', 'publication_names', $3);
