-- Status events reported by the gateway, and the status callbacks they fire.

-- One row per (call, status): a status reported twice is accepted once.
CREATE TABLE call_events (
    id            bigserial PRIMARY KEY,
    call_sid      text NOT NULL REFERENCES calls (sid),
    call_status   text NOT NULL,
    details       jsonb NOT NULL DEFAULT '{}',
    date_created  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (call_sid, call_status)
);

CREATE TABLE callbacks (
    id               bigserial PRIMARY KEY,
    call_sid         text NOT NULL REFERENCES calls (sid),
    sequence_number  integer NOT NULL,
    call_status      text NOT NULL,
    account_sid      text NOT NULL REFERENCES accounts (sid),
    url              text NOT NULL,
    method           text NOT NULL,
    -- The receiving host: one slow host must not take every delivery slot.
    host             text NOT NULL,
    -- Fixed at acceptance, so every retry sends the same request.
    params           jsonb NOT NULL,
    delivery_id      text NOT NULL UNIQUE,
    state            text NOT NULL DEFAULT 'pending',  -- pending | delivered | failed
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    leased_until     timestamptz,
    date_created     timestamptz NOT NULL DEFAULT now(),
    date_updated     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (call_sid, sequence_number)
);
CREATE INDEX callbacks_due ON callbacks (next_attempt_at, id) WHERE state = 'pending';
CREATE INDEX callbacks_pending_by_call ON callbacks (call_sid, sequence_number)
    WHERE state = 'pending';

CREATE TABLE callback_attempts (
    id             bigserial PRIMARY KEY,
    callback_id    bigint NOT NULL REFERENCES callbacks (id),
    attempted_at   timestamptz NOT NULL,
    status         integer,
    error          text,
    latency_ms     double precision NOT NULL,
    response_body  text
);
CREATE INDEX callback_attempts_callback ON callback_attempts (callback_id, id);
