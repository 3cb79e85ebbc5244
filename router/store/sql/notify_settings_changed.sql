-- Delivered to listeners when the surrounding transaction commits; the payload is the key.
SELECT pg_notify('settings_changed', $1)
