SELECT * FROM accounts WHERE sid = $1
