UPDATE applications
   SET friendly_name = $3, rcml_url = $4, kind = $5, api_version = $6,
       has_voice_caller_id_lookup = $7, date_updated = now()
 WHERE sid = $1 AND account_sid = $2
RETURNING *
