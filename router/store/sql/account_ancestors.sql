-- The sids of the account and of every ancestor up to the root.
WITH RECURSIVE up AS (
    SELECT sid, parent_sid FROM accounts WHERE sid = $1
    UNION ALL
    SELECT a.sid, a.parent_sid FROM accounts a JOIN up ON a.sid = up.parent_sid
)
SELECT sid FROM up
