-- The columns of the source tables, to check the schema before a pass reads
-- anything. Only tables the role can see are listed.
SELECT table_name::text, column_name::text, data_type::text
FROM information_schema.columns
WHERE table_schema = current_schema()
  AND table_name IN ('task_log', 'scripts');
