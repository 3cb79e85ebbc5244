-- Keyset paging: $5/$6 are the sort value and sid of the last row of the previous
-- page (both NULL for a bare page, which uses OFFSET $8 instead).
SELECT * FROM incoming_numbers_view
 WHERE account_sid = $1
   AND ($2::text IS NULL OR phone_number ~ $2)
   AND ($3::text IS NULL OR friendly_name = $3)
   AND ($4::text IS NULL OR number_type = $4)
   AND ($6::text IS NULL OR (phone_number, sid) < ($5::text, $6::text))
 ORDER BY phone_number DESC, sid DESC
 LIMIT $7 OFFSET $8
