SELECT sid, account_sid, kind FROM applications WHERE sid = ANY($1::text[])
