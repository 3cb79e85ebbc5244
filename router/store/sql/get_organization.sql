SELECT * FROM organizations WHERE sid = $1
