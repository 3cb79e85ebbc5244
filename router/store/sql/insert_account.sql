INSERT INTO accounts (sid, friendly_name, status, role, parent_sid, organization_sid,
                      token_salt, token_digest, signing_key)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
RETURNING *
