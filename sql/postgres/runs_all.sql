-- Every run, for the first pass on an empty ClickHouse.
WHERE true
