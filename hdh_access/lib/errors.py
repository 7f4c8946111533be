"""Domain errors with stable codes, shared by every app; hdh_access.middleware maps them to
HTTP statuses in one place (views never catch them)."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    code = "domain_error"
    http_status = 400

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def __str__(self) -> str:
        return self.message


class ActionNotPermitted(DomainError):
    code = "not_permitted"
    http_status = 403


class ConcurrentUpdate(DomainError):
    code = "concurrent_update"
    http_status = 409


class NotFound(DomainError):
    code = "not_found"
    http_status = 404


class InvalidInput(DomainError):
    code = "invalid_input"
    http_status = 400


class ExpiredForm(DomainError):
    """A form posted without a valid one-time token of this user (missing, forged, expired, or
    issued to another user): the page must be reloaded (access_requests.form_tokens)."""

    code = "expired_form"
    http_status = 400


class FormAlreadySent(DomainError):
    """A late autosave of a form whose page was already submitted (its one-time token claimed): the
    page is out of date and must be reloaded (portal.autosave)."""

    code = "form_already_sent"
    http_status = 409
