-- Routed calls and messages, with the decision the gateway was given.

CREATE TABLE calls (
    sid               text PRIMARY KEY,
    number_sid        text NOT NULL,
    account_sid       text NOT NULL REFERENCES accounts (sid),
    organization_sid  text NOT NULL,
    from_number       text NOT NULL,
    to_number         text NOT NULL,
    status            text NOT NULL DEFAULT 'ringing',
    caller_name       text,
    forwarded_from    text,
    sip_headers       jsonb NOT NULL DEFAULT '{}',
    decision          json NOT NULL,  -- json keeps the answer's key order
    -- The SequenceNumber the next status callback of this call takes.
    next_sequence     integer NOT NULL DEFAULT 0,
    date_created      timestamptz NOT NULL DEFAULT now(),
    date_updated      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX calls_account ON calls (account_sid, date_created);

CREATE TABLE messages (
    sid               text PRIMARY KEY,
    number_sid        text NOT NULL,
    account_sid       text NOT NULL REFERENCES accounts (sid),
    organization_sid  text NOT NULL,
    from_number       text NOT NULL,
    to_number         text NOT NULL,
    body              text,
    decision          json NOT NULL,  -- json keeps the answer's key order
    date_created      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX messages_account ON messages (account_sid, date_created);
