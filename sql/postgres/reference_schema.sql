-- The reference source schema (CONTRACT.md section 1). The job never runs
-- this against a production database: the demo, the tests and the benchmark
-- create it in their own throwaway PostgreSQL. The indexes at the end are the
-- ones the job relies on for incremental reads (updated_at) and for backfill
-- (started_at, created_at); an adopter should have equivalents.
CREATE TABLE IF NOT EXISTS scripts (
    id   bigint PRIMARY KEY,
    name text   NOT NULL
);

CREATE TABLE IF NOT EXISTS task_log (
    id                bigint PRIMARY KEY,
    script_id         bigint NOT NULL,
    status            text   NOT NULL,
    started_at        timestamptz,
    finished_at       timestamptz,
    duration          double precision,
    failed_step_index int,
    failed_step_name  text,
    error_message     text,
    steps             jsonb,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);

CREATE OR REPLACE FUNCTION task_log_touch_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;

DROP TRIGGER IF EXISTS task_log_touch_updated_at ON task_log;
CREATE TRIGGER task_log_touch_updated_at
    BEFORE UPDATE ON task_log
    FOR EACH ROW
    WHEN (NEW.updated_at IS NOT DISTINCT FROM OLD.updated_at)
    EXECUTE FUNCTION task_log_touch_updated_at();

CREATE INDEX IF NOT EXISTS task_log_updated_at_idx ON task_log (updated_at);
CREATE INDEX IF NOT EXISTS task_log_started_at_idx ON task_log (started_at);
CREATE INDEX IF NOT EXISTS task_log_created_at_idx ON task_log (created_at);
