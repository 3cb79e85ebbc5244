SELECT sid, decision FROM calls WHERE sid = ANY($1::text[])
