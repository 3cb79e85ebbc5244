-- Pure-SIP numbers that may hold a pattern (router.patterns.is_pattern decides).
SELECT * FROM incoming_numbers_view
 WHERE organization_sid = $1
   AND pure_sip
   AND phone_number ~ '[][*#^|.$\\(){}?]|.\+'
