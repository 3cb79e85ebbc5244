-- Every attempt is on record (SPEC 6), also one whose outcome never reached the
-- database (its instance was killed, or lost the database, between the send and the
-- settle): the claim that leases a callback writes its attempt, unsettled; the settle
-- completes that row. An attempt left unsettled has no status and no latency.
ALTER TABLE callback_attempts
    ALTER COLUMN latency_ms DROP NOT NULL,
    ADD COLUMN settled boolean NOT NULL DEFAULT true;
