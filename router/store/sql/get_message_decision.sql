SELECT decision FROM messages WHERE sid = $1
