-- Many routed calls in one statement (group commit); returns the sids inserted, the
-- others existed already (a repeated event).
INSERT INTO calls (sid, number_sid, account_sid, organization_sid, from_number, to_number,
                   caller_name, forwarded_from, sip_headers, decision)
SELECT sid, number_sid, account_sid, organization_sid, from_number, to_number,
       caller_name, forwarded_from, sip_headers::jsonb, decision::json
  FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
              $7::text[], $8::text[], $9::text[], $10::text[])
       AS t (sid, number_sid, account_sid, organization_sid, from_number, to_number,
             caller_name, forwarded_from, sip_headers, decision)
ON CONFLICT (sid) DO NOTHING
RETURNING sid
