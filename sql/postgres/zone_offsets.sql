-- The UTC offset, in seconds, of each given instant in zone $1 according to
-- PostgreSQL's zone data (`scriptstats doctor` compares it with the job's).
SELECT coalesce(array_agg(extract(epoch FROM (t AT TIME ZONE $1) - (t AT TIME ZONE 'UTC'))::int ORDER BY n), '{}')
FROM unnest($2::timestamptz[]) WITH ORDINALITY AS u(t, n);
