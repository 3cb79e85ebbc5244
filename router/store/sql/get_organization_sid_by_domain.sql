SELECT sid FROM organizations WHERE domain_name = $1
