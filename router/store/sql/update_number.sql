UPDATE incoming_numbers
   SET account_sid = $2, organization_sid = $3,
       friendly_name = $4, api_version = $5,
       voice_url = $6, voice_fallback_url = $7, status_callback = $8, sms_url = $9,
       sms_fallback_url = $10, refer_url = $11,
       voice_method = $12, voice_fallback_method = $13, status_callback_method = $14,
       sms_method = $15, sms_fallback_method = $16, refer_method = $17,
       voice_application_sid = $18, sms_application_sid = $19, refer_application_sid = $20,
       voice_caller_id_lookup = $21, voice_capable = $22, sms_capable = $23,
       mms_capable = $24, fax_capable = $25,
       date_updated = clock_timestamp()
 WHERE sid = $1
RETURNING sid
