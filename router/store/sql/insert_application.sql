INSERT INTO applications (sid, account_sid, friendly_name, rcml_url, kind, api_version,
                          has_voice_caller_id_lookup)
VALUES ($1, $2, $3, $4, $5, $6, $7)
RETURNING *
