-- Close an account's descendants (SPEC 2.1: closing an account closes its whole tree;
-- the account itself is updated by update_account in the same transaction).
WITH RECURSIVE tree AS (
    SELECT sid FROM accounts WHERE parent_sid = $1
    UNION ALL
    SELECT c.sid FROM accounts c JOIN tree ON c.parent_sid = tree.sid
)
UPDATE accounts SET status = 'closed', date_updated = now()
 WHERE sid IN (SELECT sid FROM tree) AND status <> 'closed'
RETURNING sid
