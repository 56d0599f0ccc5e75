-- The planner's row estimate of task_log: free, good enough for an ETA.
SELECT greatest(reltuples, 0)::bigint FROM pg_class WHERE oid = 'task_log'::regclass;
