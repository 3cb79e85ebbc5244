-- The outcomes of one group-committed batch of settles, each into the attempt row its
-- claim wrote (whatever became of the lease since: the attempt happened).
UPDATE callback_attempts ca
   SET attempted_at = v.attempted_at, status = v.status, error = v.error,
       latency_ms = v.latency_ms, response_body = v.response_body, settled = true
  FROM unnest($1::bigint[], $2::timestamptz[], $3::integer[], $4::text[],
              $5::double precision[], $6::text[])
       AS v (id, attempted_at, status, error, latency_ms, response_body)
 WHERE ca.id = v.id
