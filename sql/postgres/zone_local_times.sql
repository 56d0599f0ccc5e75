-- The local wall-clock time in zone $1, by PostgreSQL's own time zone data,
-- of each instant of $2, in order: compared with Go's to find zone data
-- that differ.
SELECT to_char(u.t AT TIME ZONE $1, 'YYYY-MM-DD"T"HH24:MI:SS')
FROM unnest($2::timestamptz[]) WITH ORDINALITY AS u(t, n)
ORDER BY u.n
