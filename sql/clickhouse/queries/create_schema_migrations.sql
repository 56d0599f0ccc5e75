-- Which migrations have been applied (for humans and for the version check
-- of `run`; migrate itself re-applies every idempotent migration).
CREATE TABLE IF NOT EXISTS schema_migrations
(
    version    UInt32,
    name       String,
    applied_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(applied_at)
ORDER BY version
