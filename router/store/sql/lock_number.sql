SELECT * FROM incoming_numbers WHERE sid = $1 AND account_sid = $2 FOR UPDATE
