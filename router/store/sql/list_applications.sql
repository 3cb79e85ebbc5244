SELECT * FROM applications WHERE account_sid = $1 ORDER BY date_created, sid
