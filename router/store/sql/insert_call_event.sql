-- No row back: this status was already reported for the call.
INSERT INTO call_events (call_sid, call_status, details)
VALUES ($1, $2, $3)
ON CONFLICT (call_sid, call_status) DO NOTHING
RETURNING id
