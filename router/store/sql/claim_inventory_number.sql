-- Concurrent claims of one DID serialize on its row: the loser sees it assigned.
UPDATE inventory
   SET assigned_sid = $2
 WHERE phone_number = $1
   AND assigned_sid IS NULL
   AND ($3::text IS NULL OR number_type = $3)
RETURNING *
