SELECT * FROM organizations WHERE domain_name = $1
