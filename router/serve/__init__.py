"""`router serve`: one process (`--workers 1`) or a supervisor with worker processes
sharing the listening port (SPEC 11)."""
