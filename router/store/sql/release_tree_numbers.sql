-- Release every number of an account tree: SIP numbers are gone, inventory DIDs become
-- free again through the inventory row's foreign key (ON DELETE SET NULL).
WITH RECURSIVE tree AS (
    SELECT sid FROM accounts WHERE sid = $1
    UNION ALL
    SELECT c.sid FROM accounts c JOIN tree ON c.parent_sid = tree.sid
)
DELETE FROM incoming_numbers WHERE account_sid IN (SELECT sid FROM tree)
RETURNING organization_sid, phone_number
