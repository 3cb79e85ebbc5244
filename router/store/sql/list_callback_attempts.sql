SELECT a.* FROM callback_attempts a JOIN callbacks c ON c.id = a.callback_id
 WHERE c.call_sid = $1 ORDER BY a.id
