"""Django's SQLite backend with the writers of one process queued (see base.py)."""
