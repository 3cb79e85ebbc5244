-- A call with its number's status callback settings (the number may be gone).
SELECT c.*, n.sid IS NOT NULL AS has_number, n.status_callback, n.status_callback_method,
       n.api_version
  FROM calls c LEFT JOIN incoming_numbers n ON n.sid = c.number_sid
 WHERE c.sid = $1
