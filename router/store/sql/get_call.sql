SELECT * FROM calls WHERE sid = $1
