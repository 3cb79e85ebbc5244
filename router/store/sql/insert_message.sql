-- A repeated event (same SmsSid) creates nothing and returns no row.
INSERT INTO messages (sid, number_sid, account_sid, organization_sid, from_number, to_number,
                      body, decision)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (sid) DO NOTHING
RETURNING decision
