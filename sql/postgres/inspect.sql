-- What `scriptstats doctor` checks on the source: version, role and
-- privileges, standby, how task_log.updated_at is stamped, logical
-- decoding. Needs no privilege beyond connecting.
SELECT
    current_setting('server_version_num')::int AS version_num,
    current_setting('server_version') AS version,
    current_user::text AS role,
    (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS superuser,
    (SELECT rolreplication FROM pg_roles WHERE rolname = current_user) AS replication,
    pg_has_role(current_user, 'pg_read_all_stats', 'USAGE') AS read_all_stats,
    pg_is_in_recovery() AS in_recovery,
    to_regclass('task_log') IS NOT NULL AND to_regclass('scripts') IS NOT NULL AS tables_found,
    coalesce(has_table_privilege(to_regclass('task_log'), 'SELECT'), false) AS select_task_log,
    coalesce(has_table_privilege(to_regclass('scripts'), 'SELECT'), false) AS select_scripts,
    current_setting('wal_level') AS wal_level,
    -- Triggers on task_log that run before a row is written and whose
    -- function mentions updated_at: "name (INSERT UPDATE): uses now()".
    ARRAY(
        SELECT format('%s (%s%s)%s%s', t.tgname,
                      CASE WHEN t.tgtype & 4 <> 0 THEN 'INSERT ' ELSE '' END,
                      CASE WHEN t.tgtype & 16 <> 0 THEN 'UPDATE' ELSE '' END,
                      CASE WHEN p.prosrc ~* '(now\(\)|clock_timestamp|statement_timestamp|transaction_timestamp|current_timestamp|localtimestamp)'
                           THEN ': database clock' ELSE '' END,
                      CASE WHEN t.tgqual IS NOT NULL THEN ', when the application leaves it unchanged' ELSE '' END)
        FROM pg_trigger AS t
        JOIN pg_proc AS p ON p.oid = t.tgfoid
        WHERE t.tgrelid = to_regclass('task_log')
          AND NOT t.tgisinternal
          AND t.tgenabled <> 'D'
          AND t.tgtype & 2 <> 0           -- BEFORE
          AND t.tgtype & 1 <> 0           -- FOR EACH ROW
          AND p.prosrc ~* 'updated_at'
        ORDER BY t.tgname
    ) AS stamping_triggers,
    coalesce((SELECT pg_get_expr(d.adbin, d.adrelid)
              FROM pg_attrdef AS d
              JOIN pg_attribute AS a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
              WHERE d.adrelid = to_regclass('task_log') AND a.attname = 'updated_at'), '') AS updated_at_default;
