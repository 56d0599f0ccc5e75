-- ClickHouse users of scriptstats (production).
--
-- Two roles and one user each:
--
--   role scriptstats_load  -> user scriptstats_loader   the job itself (migrate,
--       run, backfill, schedule, verify, compare): its own database and
--       nothing else. CREATE DATABASE/TABLE/VIEW for migrate; DROP TABLE and
--       DROP VIEW because CREATE OR REPLACE VIEW swaps through a temporary
--       table; INSERT and SELECT for every pass; TRUNCATE for the first pass
--       (it starts from empty tables); ALTER for later migrations. The table
--       engines it creates must be granted by name.
--   role scriptstats_reader -> user scriptstats_analyst  analysts and BI
--       tools: SELECT on the five public views (CONTRACT.md section 3) and
--       nothing else, read-only (settings profile scriptstats_bi: readonly = 1,
--       except the bounded settings BI drivers send per query; see
--       docs/metabase.md).
--
-- The views read the private tables with their definer's rights (SQL
-- SECURITY DEFINER, ClickHouse 24.2 and later): the analyst needs no grant
-- on any table. The definer is the user that ran `scriptstats migrate`.
--
-- Before running, replace
--   scriptstats            the job's database (the path of SCRIPTSTATS_CLICKHOUSE_DSN), if it differs
--   __LOADER_PASSWORD__    the job's password (it goes into SCRIPTSTATS_CLICKHOUSE_DSN, from a secret)
--   __ANALYST_PASSWORD__   the analysts' password
-- and restrict HOST to the networks the job and the BI tools connect from.
-- (No DEFAULT DATABASE: migrate connects before the database exists.)
-- Run it as a user with access management, e.g.
--
--   sed -e "s/__LOADER_PASSWORD__/$LOADER_PW/" -e "s/__ANALYST_PASSWORD__/$ANALYST_PW/" \
--       deploy/clickhouse/users.sql | clickhouse-client --multiquery
--
-- Every statement is idempotent; the grants and the profile are what the
-- local stack's deploy/local/clickhouse-users.xml gives its users of the same
-- names (TestClickHouseUsersMatchProduction compares them). More analysts or
-- BI tools: CREATE USER ... DEFAULT ROLE scriptstats_reader SETTINGS PROFILE
-- 'scriptstats_bi', then GRANT scriptstats_reader TO them (docs/metabase.md
-- does this for Metabase).

CREATE ROLE IF NOT EXISTS scriptstats_load;
GRANT CREATE DATABASE ON scriptstats.* TO scriptstats_load;
GRANT CREATE TABLE, CREATE VIEW, DROP TABLE, DROP VIEW, ALTER, INSERT, SELECT, TRUNCATE ON scriptstats.* TO scriptstats_load;
GRANT TABLE ENGINE ON MergeTree TO scriptstats_load;
GRANT TABLE ENGINE ON ReplacingMergeTree TO scriptstats_load;

CREATE USER IF NOT EXISTS scriptstats_loader
    IDENTIFIED WITH sha256_password BY '__LOADER_PASSWORD__'
    HOST ANY;
GRANT scriptstats_load TO scriptstats_loader;
ALTER USER scriptstats_loader DEFAULT ROLE scriptstats_load;

-- The analysts' profile: read-only, except the settings BI drivers send on
-- every query (docs/metabase.md, "Settings a BI tool may send"), each within
-- bounds. ALTER replaces the whole list, so running this file again upgrades
-- a profile an older version created.
CREATE SETTINGS PROFILE IF NOT EXISTS scriptstats_bi;
ALTER SETTINGS PROFILE scriptstats_bi SETTINGS
    readonly = 1,
    max_memory_usage = 4000000000 MAX 4000000000,
    max_execution_time = 120 MIN 1 MAX 300 CHANGEABLE_IN_READONLY,
    max_result_rows = 1048576 MIN 1 MAX 1048576 CHANGEABLE_IN_READONLY,
    result_overflow_mode = 'throw' CHANGEABLE_IN_READONLY,
    join_use_nulls MIN 0 MAX 1 CHANGEABLE_IN_READONLY,
    date_time_output_format CHANGEABLE_IN_READONLY,
    session_timezone CHANGEABLE_IN_READONLY,
    output_format_json_quote_64bit_integers MIN 0 MAX 1 CHANGEABLE_IN_READONLY,
    enable_http_compression MIN 0 MAX 1 CHANGEABLE_IN_READONLY,
    send_progress_in_http_headers MIN 0 MAX 1 CHANGEABLE_IN_READONLY,
    http_headers_progress_interval_ms MIN 1000 MAX 600000 CHANGEABLE_IN_READONLY;
CREATE ROLE IF NOT EXISTS scriptstats_reader SETTINGS PROFILE 'scriptstats_bi';
GRANT SELECT ON scriptstats.script_daily TO scriptstats_reader;
GRANT SELECT ON scriptstats.step_daily TO scriptstats_reader;
GRANT SELECT ON scriptstats.runs TO scriptstats_reader;
GRANT SELECT ON scriptstats.run_steps TO scriptstats_reader;
GRANT SELECT ON scriptstats.run_vs_previous TO scriptstats_reader;
GRANT SELECT ON scriptstats.success_rate_drops TO scriptstats_reader;
GRANT SELECT ON scriptstats.duration_changes TO scriptstats_reader;
GRANT SELECT ON scriptstats.step_health TO scriptstats_reader;

CREATE USER IF NOT EXISTS scriptstats_analyst
    IDENTIFIED WITH sha256_password BY '__ANALYST_PASSWORD__'
    HOST ANY
    SETTINGS PROFILE 'scriptstats_bi';
GRANT scriptstats_reader TO scriptstats_analyst;
ALTER USER scriptstats_analyst DEFAULT ROLE scriptstats_reader;
