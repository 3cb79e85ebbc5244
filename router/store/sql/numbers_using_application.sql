SELECT organization_sid, phone_number FROM incoming_numbers
 WHERE voice_application_sid = $1 OR sms_application_sid = $1 OR refer_application_sid = $1
