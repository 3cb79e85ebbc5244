SELECT * FROM incoming_numbers_view WHERE sid = $1
