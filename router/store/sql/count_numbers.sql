SELECT count(*) FROM incoming_numbers
 WHERE account_sid = $1
   AND ($2::text IS NULL OR phone_number ~ $2)
   AND ($3::text IS NULL OR friendly_name = $3)
   AND ($4::text IS NULL OR number_type = $4)
