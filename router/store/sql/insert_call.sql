-- A repeated event (same CallSid) creates nothing and returns no row.
INSERT INTO calls (sid, number_sid, account_sid, organization_sid, from_number, to_number,
                   caller_name, forwarded_from, sip_headers, decision)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
ON CONFLICT (sid) DO NOTHING
RETURNING decision
