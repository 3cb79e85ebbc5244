SELECT * FROM accounts WHERE parent_sid IS NULL ORDER BY date_created, sid LIMIT 1
