SELECT * FROM callbacks WHERE id = $1
