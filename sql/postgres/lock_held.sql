-- Whether this very session holds the advisory lock $1 (a bigint key shows
-- its high half in classid, its low half in objid, objsubid 1). Run as a
-- statement of its own after lock_try: behind a pooler in transaction mode
-- it may reach another server session, which does not hold it. pg_locks
-- needs no privilege.
SELECT EXISTS (
    SELECT 1
    FROM pg_locks
    WHERE locktype = 'advisory'
      AND pid = pg_backend_pid()
      AND granted
      AND classid = ((($1::bigint) >> 32) & 4294967295)::oid
      AND objid = (($1::bigint) & 4294967295)::oid
      AND objsubid = 1
);
