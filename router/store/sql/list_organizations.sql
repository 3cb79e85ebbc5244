SELECT * FROM organizations ORDER BY date_created, sid
