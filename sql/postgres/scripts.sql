-- Every script's current name.
SELECT id, name FROM scripts;
