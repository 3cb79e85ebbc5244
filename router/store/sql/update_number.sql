UPDATE incoming_numbers
   SET account_sid = $2, organization_sid = $3,
       friendly_name = $4, api_version = $5,
       voice_url = $6, voice_fallback_url = $7, status_callback = $8, sms_url = $9,
       sms_fallback_url = $10, refer_url = $11, ussd_url = $12, ussd_fallback_url = $13,
       voice_method = $14, voice_fallback_method = $15, status_callback_method = $16,
       sms_method = $17, sms_fallback_method = $18, refer_method = $19,
       ussd_method = $20, ussd_fallback_method = $21,
       voice_application_sid = $22, sms_application_sid = $23, refer_application_sid = $24,
       ussd_application_sid = $25,
       voice_caller_id_lookup = $26, voice_capable = $27, sms_capable = $28,
       mms_capable = $29, fax_capable = $30,
       date_updated = clock_timestamp()
 WHERE sid = $1
RETURNING sid
