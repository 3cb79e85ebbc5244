-- The account and every descendant, parents before children.
WITH RECURSIVE tree AS (
    SELECT a.*, 0 AS depth FROM accounts a WHERE a.sid = $1
    UNION ALL
    SELECT c.*, tree.depth + 1 FROM accounts c JOIN tree ON c.parent_sid = tree.sid
)
SELECT * FROM tree ORDER BY depth, date_created, sid
