-- Reads the exported snapshot of a new replication slot: the first pass of
-- --source logical loads exactly what precedes the slot's stream.
SET TRANSACTION SNAPSHOT '%s'
