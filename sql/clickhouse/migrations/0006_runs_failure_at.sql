-- The source's coalesce(finished_at, started_at, created_at) of each run, in
-- microseconds since 1970, ±infinity clamped to the Int64 extremes
-- (transform.ClampMicro). It orders failed attempts for step_daily.last_error:
-- a failed run that finished at +infinity is the latest failure (CONTRACT.md
-- section 2), though its finished_at is stored as NULL. Rows written before
-- this column take it from their stored times; a backfill of their days
-- rewrites them from the source.
ALTER TABLE runs_state ADD COLUMN IF NOT EXISTS failure_at_us Int64
    DEFAULT toUnixTimestamp64Micro(coalesce(finished_at, started_at, fromUnixTimestamp64Micro(created_at_us, 'UTC')))
    AFTER updated_at_us;
