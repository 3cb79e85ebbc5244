SELECT * FROM inventory
 WHERE assigned_sid IS NULL
   AND country = $1
   AND number_type = $2
   AND ($3::text IS NULL OR area_code = $3)
   AND ($4::text IS NULL OR phone_number ~ $4)
 ORDER BY phone_number
 LIMIT $5
