-- Delivered to listeners when the surrounding transaction commits.
SELECT pg_notify('numbers_changed', $1)
