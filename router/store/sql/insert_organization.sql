INSERT INTO organizations (sid, domain_name, status)
VALUES ($1, $2, $3)
RETURNING *
