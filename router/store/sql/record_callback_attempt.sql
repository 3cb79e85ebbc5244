INSERT INTO callback_attempts (callback_id, attempted_at, status, error, latency_ms, response_body)
VALUES ($1, $2, $3, $4, $5, $6)
