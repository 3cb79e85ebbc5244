-- A fingerprint of the numbers all_phone_numbers reads: their count and the sum of
-- their 64-bit hashes. Equal fingerprints mean (but for a 2^-64 chance) the same set.
SELECT count(*)::text || ':' || coalesce(sum(hashtextextended(phone_number, 0)), 0)::text
FROM incoming_numbers
WHERE strpos(phone_number, E'\\') = 0
