-- A transaction id assigned right after the pass's snapshot: any id above it
-- belongs to a transaction that started writing later. Needs no privilege;
-- fails on a hot standby (the pass then relies on its lookback alone).
SELECT pg_current_xact_id()::text::bigint;
