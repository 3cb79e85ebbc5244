-- Restcomm's USSD fields on numbers (SPEC 1): a USSD pull (*777#) routes by them.

ALTER TABLE incoming_numbers
    ADD COLUMN ussd_url              text,
    ADD COLUMN ussd_method           text NOT NULL DEFAULT 'POST',
    ADD COLUMN ussd_fallback_url     text,
    ADD COLUMN ussd_fallback_method  text NOT NULL DEFAULT 'POST',
    ADD COLUMN ussd_application_sid  text REFERENCES applications (sid);
CREATE INDEX incoming_numbers_ussd_app ON incoming_numbers (ussd_application_sid);

-- n.* gained columns in the middle of the view's list: replace it whole.
DROP VIEW incoming_numbers_view;
CREATE VIEW incoming_numbers_view AS
SELECT n.*,
       va.friendly_name AS voice_application_name,
       sa.friendly_name AS sms_application_name,
       ra.friendly_name AS refer_application_name,
       ua.friendly_name AS ussd_application_name,
       va.rcml_url AS voice_application_url,
       sa.rcml_url AS sms_application_url,
       ra.rcml_url AS refer_application_url,
       ua.rcml_url AS ussd_application_url,
       a.status AS account_status,
       a.signing_key AS account_signing_key
  FROM incoming_numbers n
  JOIN accounts a ON a.sid = n.account_sid
  LEFT JOIN applications va ON va.sid = n.voice_application_sid
  LEFT JOIN applications sa ON sa.sid = n.sms_application_sid
  LEFT JOIN applications ra ON ra.sid = n.refer_application_sid
  LEFT JOIN applications ua ON ua.sid = n.ussd_application_sid;
