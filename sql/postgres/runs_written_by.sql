-- Runs whose current version was written by one of the given transactions
-- (32-bit xids: xid8 mod 2^32, what the xmin system column holds) and that
-- the updated_at range read misses. Used for transactions of unknown age
-- that committed after the previous pass: a sequential scan that returns
-- only their rows, instead of re-reading the whole history. xmin needs
-- only SELECT on the table.
WHERE xmin::text::bigint = ANY($2)
  AND updated_at < $3
