-- Accounts, organizations, applications, the number inventory and incoming numbers.

CREATE TABLE organizations (
    sid           text PRIMARY KEY,
    domain_name   text NOT NULL UNIQUE,
    status        text NOT NULL DEFAULT 'active',
    date_created  timestamptz NOT NULL DEFAULT now(),
    date_updated  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE accounts (
    sid               text PRIMARY KEY,
    friendly_name     text NOT NULL,
    status            text NOT NULL,
    role              text NOT NULL,
    parent_sid        text REFERENCES accounts (sid),
    organization_sid  text NOT NULL REFERENCES organizations (sid),
    token_salt        bytea NOT NULL,
    token_digest      bytea NOT NULL,
    signing_key       text NOT NULL,
    date_created      timestamptz NOT NULL DEFAULT now(),
    date_updated      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX accounts_parent ON accounts (parent_sid);

CREATE TABLE applications (
    sid                         text PRIMARY KEY,
    account_sid                 text NOT NULL REFERENCES accounts (sid),
    friendly_name               text NOT NULL,
    rcml_url                    text,
    kind                        text NOT NULL,
    api_version                 text NOT NULL,
    has_voice_caller_id_lookup  boolean NOT NULL DEFAULT false,
    date_created                timestamptz NOT NULL DEFAULT now(),
    date_updated                timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX applications_account ON applications (account_sid, date_created);

CREATE TABLE incoming_numbers (
    sid                    text PRIMARY KEY,
    account_sid            text NOT NULL REFERENCES accounts (sid),
    organization_sid       text NOT NULL REFERENCES organizations (sid),
    phone_number           text NOT NULL,
    friendly_name          text NOT NULL,
    api_version            text NOT NULL,
    number_type            text NOT NULL,
    pure_sip               boolean NOT NULL,
    voice_url              text,
    voice_method           text NOT NULL DEFAULT 'POST',
    voice_fallback_url     text,
    voice_fallback_method  text NOT NULL DEFAULT 'POST',
    status_callback        text,
    status_callback_method text NOT NULL DEFAULT 'POST',
    voice_caller_id_lookup boolean NOT NULL DEFAULT false,
    voice_application_sid  text REFERENCES applications (sid),
    sms_url                text,
    sms_method             text NOT NULL DEFAULT 'POST',
    sms_fallback_url       text,
    sms_fallback_method    text NOT NULL DEFAULT 'POST',
    sms_application_sid    text REFERENCES applications (sid),
    refer_url              text,
    refer_method           text NOT NULL DEFAULT 'POST',
    refer_application_sid  text REFERENCES applications (sid),
    voice_capable          boolean NOT NULL DEFAULT true,
    sms_capable            boolean NOT NULL DEFAULT true,
    mms_capable            boolean NOT NULL DEFAULT false,
    fax_capable            boolean NOT NULL DEFAULT false,
    date_created           timestamptz NOT NULL DEFAULT clock_timestamp(),
    date_updated           timestamptz NOT NULL DEFAULT clock_timestamp()
);
-- Inventory DIDs are globally unique; a SIP number is unique within its organization.
CREATE UNIQUE INDEX incoming_numbers_did ON incoming_numbers (phone_number) WHERE NOT pure_sip;
CREATE UNIQUE INDEX incoming_numbers_sip ON incoming_numbers (organization_sid, phone_number)
    WHERE pure_sip;
-- Resolution looks numbers up by spelling across organizations.
CREATE INDEX incoming_numbers_phone ON incoming_numbers (phone_number);
-- Keyset paging per account, one index per sort order.
CREATE INDEX incoming_numbers_by_created ON incoming_numbers (account_sid, date_created, sid);
CREATE INDEX incoming_numbers_by_phone ON incoming_numbers (account_sid, phone_number, sid);
CREATE INDEX incoming_numbers_by_name ON incoming_numbers (account_sid, friendly_name, sid);
CREATE INDEX incoming_numbers_org ON incoming_numbers (organization_sid) WHERE pure_sip;
CREATE INDEX incoming_numbers_voice_app ON incoming_numbers (voice_application_sid);
CREATE INDEX incoming_numbers_sms_app ON incoming_numbers (sms_application_sid);
CREATE INDEX incoming_numbers_refer_app ON incoming_numbers (refer_application_sid);

CREATE TABLE inventory (
    phone_number  text PRIMARY KEY,
    number_type   text NOT NULL,
    area_code     text NOT NULL,
    country       text NOT NULL,
    -- Deferred: a provisioning transaction claims the DID before it inserts the number.
    assigned_sid  text REFERENCES incoming_numbers (sid) ON DELETE SET NULL
                  DEFERRABLE INITIALLY DEFERRED
);
CREATE INDEX inventory_free ON inventory (country, number_type, area_code, phone_number)
    WHERE assigned_sid IS NULL;

-- Installation-wide secrets and facts (e.g. the hashed gateway token).
CREATE TABLE settings (
    key    text PRIMARY KEY,
    value  bytea NOT NULL
);

-- Numbers as the API and the resolver see them: with their applications' names and
-- URLs and their account's status.
CREATE VIEW incoming_numbers_view AS
SELECT n.*,
       va.friendly_name AS voice_application_name,
       sa.friendly_name AS sms_application_name,
       ra.friendly_name AS refer_application_name,
       va.rcml_url AS voice_application_url,
       sa.rcml_url AS sms_application_url,
       ra.rcml_url AS refer_application_url,
       a.status AS account_status,
       a.signing_key AS account_signing_key
  FROM incoming_numbers n
  JOIN accounts a ON a.sid = n.account_sid
  LEFT JOIN applications va ON va.sid = n.voice_application_sid
  LEFT JOIN applications sa ON sa.sid = n.sms_application_sid
  LEFT JOIN applications ra ON ra.sid = n.refer_application_sid;
