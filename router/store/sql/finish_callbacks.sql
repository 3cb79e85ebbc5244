-- A batch of verdicts: state delivered, failed (gave up) or pending again at
-- next_attempt_at. Each applies only while its lease is still the one claimed: once a
-- lease ran out another instance may have settled the callback, and a late verdict
-- must not overwrite theirs. Returns the callbacks actually settled. (The attempt was
-- counted by the claim.)
UPDATE callbacks cb
   SET state = v.state,
       next_attempt_at = coalesce(v.next_attempt_at, cb.next_attempt_at),
       leased_until = NULL, date_updated = now()
  FROM unnest($1::bigint[], $2::text[], $3::timestamptz[], $4::timestamptz[])
       AS v (id, state, next_attempt_at, lease)
 WHERE cb.id = v.id AND cb.leased_until = v.lease
RETURNING cb.id
