-- The attempts of one group-committed batch of settles.
INSERT INTO callback_attempts (callback_id, attempted_at, status, error, latency_ms, response_body)
SELECT * FROM unnest($1::bigint[], $2::timestamptz[], $3::integer[], $4::text[],
                     $5::double precision[], $6::text[])
