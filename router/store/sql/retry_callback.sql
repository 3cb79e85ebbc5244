-- Only a callback that gave up can be sent again; it starts a fresh series of attempts.
UPDATE callbacks
   SET state = 'pending', attempts = 0, next_attempt_at = now(), leased_until = NULL,
       date_updated = now()
 WHERE id = $1 AND state = 'failed'
RETURNING id
