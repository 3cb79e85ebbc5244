SELECT count(*) FROM callbacks WHERE state = 'pending'
