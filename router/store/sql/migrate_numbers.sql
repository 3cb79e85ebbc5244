-- Moves every number of the account tree rooted at $1 to organization $2.
WITH RECURSIVE tree AS (
    SELECT sid FROM accounts WHERE sid = $1
    UNION ALL
    SELECT c.sid FROM accounts c JOIN tree ON c.parent_sid = tree.sid
), moved AS (
    SELECT n.sid, n.organization_sid AS old_organization_sid
      FROM incoming_numbers n
     WHERE n.account_sid IN (SELECT sid FROM tree)
       FOR UPDATE
)
UPDATE incoming_numbers n
   SET organization_sid = $2, date_updated = clock_timestamp()
  FROM moved
 WHERE n.sid = moved.sid
RETURNING n.phone_number, moved.old_organization_sid
