SELECT organization_sid, phone_number,
       voice_application_sid = $1 AS as_voice,
       sms_application_sid = $1 AS as_sms,
       refer_application_sid = $1 AS as_refer,
       ussd_application_sid = $1 AS as_ussd
  FROM incoming_numbers
 WHERE voice_application_sid = $1 OR sms_application_sid = $1 OR refer_application_sid = $1
    OR ussd_application_sid = $1
