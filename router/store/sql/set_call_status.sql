UPDATE calls SET status = $2, date_updated = now() WHERE sid = $1
