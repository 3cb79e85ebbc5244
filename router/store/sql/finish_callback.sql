-- state: delivered, failed (gave up) or pending again at next_attempt_at.
UPDATE callbacks
   SET state = $2, attempts = attempts + 1, next_attempt_at = coalesce($3, next_attempt_at),
       leased_until = NULL, date_updated = now()
 WHERE id = $1
