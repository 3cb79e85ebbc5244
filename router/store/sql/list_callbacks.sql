SELECT * FROM callbacks WHERE call_sid = $1 ORDER BY sequence_number
