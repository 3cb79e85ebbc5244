"""The event spool: what router answered while PostgreSQL was unreachable (routed
calls and messages, accepted status events), kept on local disk until the database
takes it (SPEC 4, SPEC 8)."""
