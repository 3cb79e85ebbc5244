-- Due callbacks whose call has no older undelivered one (FIFO per call), skipping rows
-- another dispatcher holds and hosts this one already keeps busy; leased for $2 s.
WITH due AS (
    SELECT c.id
      FROM callbacks c
     WHERE c.state = 'pending'
       AND c.next_attempt_at <= now()
       AND (c.leased_until IS NULL OR c.leased_until < now())
       AND c.host <> ALL ($3::text[])
       AND NOT EXISTS (
            SELECT 1 FROM callbacks older
             WHERE older.call_sid = c.call_sid
               AND older.state = 'pending'
               AND older.sequence_number < c.sequence_number)
     ORDER BY c.next_attempt_at, c.id
     LIMIT $1
       FOR UPDATE SKIP LOCKED
)
UPDATE callbacks cb
   SET leased_until = now() + make_interval(secs => $2), date_updated = now()
  FROM due, accounts a
 WHERE cb.id = due.id AND a.sid = cb.account_sid
RETURNING cb.id, cb.call_sid, cb.sequence_number, cb.url, cb.method, cb.host, cb.params,
          cb.delivery_id, cb.attempts, a.signing_key
