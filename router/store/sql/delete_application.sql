DELETE FROM applications WHERE sid = $1 AND account_sid = $2 RETURNING sid
