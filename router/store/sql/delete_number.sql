-- The inventory row's foreign key frees the DID (ON DELETE SET NULL).
DELETE FROM incoming_numbers WHERE sid = $1 AND account_sid = $2
RETURNING organization_sid, phone_number
