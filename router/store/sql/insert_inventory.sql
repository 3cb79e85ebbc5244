-- Returns the numbers actually inserted; the others were already present.
INSERT INTO inventory (phone_number, number_type, area_code, country)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])
ON CONFLICT (phone_number) DO NOTHING
RETURNING phone_number
