SELECT * FROM incoming_numbers_view WHERE phone_number = ANY($1::text[])
