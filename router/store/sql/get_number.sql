SELECT * FROM incoming_numbers_view WHERE sid = $1 AND account_sid = $2
