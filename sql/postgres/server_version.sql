-- The server's version, as a number (130000 for 13.0) and as text.
SELECT current_setting('server_version_num')::int, current_setting('server_version');
