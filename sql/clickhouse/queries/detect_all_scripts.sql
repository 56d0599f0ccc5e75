-- Every script with stored groups or stored change points: what detection
-- recomputes whole when the change-point options differ from those the
-- stored change points were computed with.
SELECT DISTINCT script_id FROM groups_state FINAL WHERE _is_deleted = 0
UNION DISTINCT
SELECT DISTINCT script_id FROM duration_changes_state FINAL WHERE _is_deleted = 0
