"""The Standard Webhooks signature (https://www.standardwebhooks.com), in plain Python.

A secret is ``whsec_`` followed by the base64 of 32 random bytes; those bytes are the HMAC key.
Each attempt is signed over ``f"{webhook_id}.{timestamp}.{body}"`` (the ``webhook-id`` header,
the ``webhook-timestamp`` header in Unix seconds, the exact body) with HMAC-SHA256; the
``webhook-signature`` header holds ``v1,<base64 of the signature>``, several of them separated by
spaces while a rotated secret still signs beside the new one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import uuid
from collections.abc import Sequence

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def new_webhook_id() -> str:
    """A delivery's ``webhook-id``: the same on every attempt, so a receiver can drop a duplicate."""
    return f"msg_{uuid.uuid4().hex}"


def secret_key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def sign(secret: str, *, webhook_id: str, timestamp: int, body: str) -> str:
    """``v1,<base64 of HMAC-SHA256(key, "{id}.{timestamp}.{body}")>``."""
    content = f"{webhook_id}.{timestamp}.{body}".encode()
    digest = hmac.new(secret_key(secret), content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def signed_headers(secrets_: Sequence[str], *, webhook_id: str, timestamp: int, body: str) -> dict[str, str]:
    """The three headers of one attempt, signed with each of ``secrets_`` (the current one first)."""
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(sign(s, webhook_id=webhook_id, timestamp=timestamp, body=body)
                                      for s in secrets_),
    }
