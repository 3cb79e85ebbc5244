-- The call row is locked by this transaction, so numbers are gapless and unique.
UPDATE calls SET next_sequence = next_sequence + 1 WHERE sid = $1
RETURNING next_sequence - 1
