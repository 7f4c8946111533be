"""Domain errors with stable codes. Views map them to HTTP statuses in one place."""

from __future__ import annotations

from django.utils.translation import gettext as _


class DomainError(Exception):
    code = "domain_error"
    http_status = 400

    def __init__(self, message: str, **details) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def __str__(self) -> str:
        return self.message


class IllegalTransition(DomainError):
    """The requested move does not exist from the current state, or its condition fails."""

    code = "illegal_transition"
    http_status = 409

    def __init__(self, *, reference: str, current: str, requested: str, reason: str = "") -> None:
        message = _("Demande %(reference)s : passage impossible de « %(current)s » à « %(requested)s ».") % {
            "reference": reference,
            "current": current,
            "requested": requested,
        }
        if reason:
            message = f"{message} {reason}"
        super().__init__(message, current=current, requested=requested)
        self.current = current
        self.requested = requested


class ActionNotPermitted(DomainError):
    code = "not_permitted"
    http_status = 403


class ConcurrentUpdate(DomainError):
    code = "concurrent_update"
    http_status = 409


class RequestNotFound(DomainError):
    code = "not_found"
    http_status = 404


class InvalidInput(DomainError):
    code = "invalid_input"
    http_status = 400


class EventLogImmutable(DomainError):
    """The event log is append-only: an event row is never updated or deleted."""

    code = "event_log_immutable"
    http_status = 409
