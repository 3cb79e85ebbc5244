INSERT INTO incoming_numbers (
    sid, account_sid, organization_sid, phone_number, number_type, pure_sip,
    friendly_name, api_version,
    voice_url, voice_fallback_url, status_callback, sms_url, sms_fallback_url, refer_url,
    ussd_url, ussd_fallback_url,
    voice_method, voice_fallback_method, status_callback_method, sms_method,
    sms_fallback_method, refer_method, ussd_method, ussd_fallback_method,
    voice_application_sid, sms_application_sid, refer_application_sid, ussd_application_sid,
    voice_caller_id_lookup, voice_capable, sms_capable, mms_capable, fax_capable)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18,
        $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30, $31, $32, $33)
RETURNING sid
