-- The highest version any pass wrote, killed passes included: a pass
-- journals its groups before it writes runs or places, and writes scripts
-- and groups with its version too. The next pass numbers its rows above it,
-- so that they win even if the clock stepped back.
SELECT greatest(
    (SELECT max(pass_version) FROM pending_groups),
    (SELECT max(_version) FROM scripts_state),
    (SELECT max(_version) FROM groups_state)
)
