UPDATE accounts
   SET friendly_name = $2, status = $3, token_salt = $4, token_digest = $5,
       signing_key = $6, date_updated = now()
 WHERE sid = $1
RETURNING *
