UPDATE inventory
   SET assigned_sid = $2
 WHERE phone_number = (
        SELECT phone_number FROM inventory
         WHERE area_code = $1 AND assigned_sid IS NULL
           AND ($3::text IS NULL OR number_type = $3)
         ORDER BY phone_number
         LIMIT 1
           FOR UPDATE SKIP LOCKED)
RETURNING *
