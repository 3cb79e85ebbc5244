-- A cheap fingerprint of an organization's pattern numbers and what routing reads from
-- them (their accounts and applications): unchanged means the matcher is still right.
SELECT count(*)::text || '/' || coalesce(max(greatest(n.date_updated, a.date_updated,
           va.date_updated, sa.date_updated, ra.date_updated))::text, '-')
       || '/' || coalesce(sum(hashtext(n.sid || n.phone_number || a.status))::text, '-')
  FROM incoming_numbers n
  JOIN accounts a ON a.sid = n.account_sid
  LEFT JOIN applications va ON va.sid = n.voice_application_sid
  LEFT JOIN applications sa ON sa.sid = n.sms_application_sid
  LEFT JOIN applications ra ON ra.sid = n.refer_application_sid
 WHERE n.organization_sid = $1
   AND n.pure_sip
   AND n.phone_number ~ '[][*#^|.$\\(){}?]|.\+'
