-- Due callbacks whose call has no older undelivered one (FIFO per call), skipping rows
-- another dispatcher holds; leased for $2 s. $3 lists the host of every delivery this
-- dispatcher has in flight and $4 is its per-host limit: a host at the limit is skipped,
-- and of one host's rows only as many are leased as it has free slots (the others are
-- merely locked until commit), so a backlog for one slow host cannot take every slot.
-- Each leased callback counts one more attempt and gets its attempt row now, unsettled,
-- so an attempt whose settle never commits is still on record.
WITH due AS (
    SELECT c.id, c.host, c.next_attempt_at
      FROM callbacks c
     WHERE c.state = 'pending'
       AND c.next_attempt_at <= now()
       AND (c.leased_until IS NULL OR c.leased_until < now())
       AND (SELECT count(*) FROM unnest($3::text[]) AS busy (host) WHERE busy.host = c.host) < $4
       AND NOT EXISTS (
            SELECT 1 FROM callbacks older
             WHERE older.call_sid = c.call_sid
               AND older.state = 'pending'
               AND older.sequence_number < c.sequence_number)
     ORDER BY c.next_attempt_at, c.id
     LIMIT $1
       FOR UPDATE SKIP LOCKED
), ranked AS (
    SELECT due.id,
           row_number() OVER (PARTITION BY due.host ORDER BY due.next_attempt_at, due.id)
             + (SELECT count(*) FROM unnest($3::text[]) AS busy (host) WHERE busy.host = due.host)
             AS slot
      FROM due
), leased AS (
    UPDATE callbacks cb
       SET leased_until = now() + make_interval(secs => $2), attempts = cb.attempts + 1,
           date_updated = now()
      FROM ranked, accounts a
     WHERE cb.id = ranked.id AND ranked.slot <= $4 AND a.sid = cb.account_sid
    RETURNING cb.id, cb.call_sid, cb.sequence_number, cb.url, cb.method, cb.host, cb.params,
              cb.delivery_id, cb.attempts, cb.leased_until, a.signing_key
), attempt AS (
    INSERT INTO callback_attempts (callback_id, attempted_at, settled)
    SELECT id, now(), false FROM leased
    RETURNING id, callback_id
)
SELECT leased.*, attempt.id AS attempt_id
  FROM leased JOIN attempt ON attempt.callback_id = leased.id
