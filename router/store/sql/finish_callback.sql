-- state: delivered, failed (gave up) or pending again at next_attempt_at. Only while the
-- lease is still ours ($4): once it ran out another instance may have settled it, and a
-- late verdict must not overwrite theirs.
UPDATE callbacks
   SET state = $2, attempts = attempts + 1, next_attempt_at = coalesce($3, next_attempt_at),
       leased_until = NULL, date_updated = now()
 WHERE id = $1 AND leased_until = $4
RETURNING id
