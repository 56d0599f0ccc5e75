-- The scripts whose step health can have changed with time alone.
SELECT script_id
FROM health_checks FINAL
WHERE _is_deleted = 0 AND next_check_us <= {as_of_us:Int64}
