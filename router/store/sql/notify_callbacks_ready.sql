SELECT pg_notify('callbacks_ready', '')
