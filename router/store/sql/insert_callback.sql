INSERT INTO callbacks (call_sid, sequence_number, call_status, account_sid, url, method, host,
                       params, delivery_id)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
RETURNING id
