"""The password hasher of every new or changed password (PASSWORD_HASHERS in settings)."""

from __future__ import annotations

from django.contrib.auth.hashers import Argon2PasswordHasher


class Argon2idPasswordHasher(Argon2PasswordHasher):
    """Argon2id with OWASP's first recommended parameters: 19 MiB of memory, 2 passes, 1 lane.

    OWASP's Password Storage Cheat Sheet lists equivalent settings (46 MiB × 1 pass, 19 MiB × 2
    passes, ...): the same cost to an attacker, less memory per sign-in with more passes. A web
    server signs in as many users at once as it has threads (2 × cores + 1 processes × 2 threads,
    gunicorn.conf.py), so the 19 MiB one holds the memory of simultaneous sign-ins lowest. Django's
    own parameters (100 MiB, 8 lanes) cost each sign-in five times the memory for a web process.

    The algorithm name stays Django's ``argon2``: hashes made with other Argon2 parameters are
    checked, then rehashed with these at the next sign-in (``must_update``), like PBKDF2 ones.
    """

    time_cost = 2
    memory_cost = 19 * 1024  # KiB
    parallelism = 1
