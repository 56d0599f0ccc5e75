-- A session-level advisory lock: held while the pass's dedicated connection
-- lives, released at once when that connection dies (even on SIGKILL).
-- Needs no privilege on any table.
SELECT pg_try_advisory_lock($1);
