"""Errors of the documents (hdh_access.middleware turns them into pages with their status)."""

from __future__ import annotations

from hdh_access.lib.errors import NotFound


class ReceiptUnavailable(NotFound):
    """A draft has no receipt: it is written when the request is submitted."""

    code = "no_receipt"
