"""Domain errors of the pathway. The generic ones live in hdh_access.lib.errors (re-exported here)."""

from __future__ import annotations

from django.utils.translation import gettext as _

from hdh_access.lib.errors import ActionNotPermitted, ConcurrentUpdate, DomainError, InvalidInput, NotFound

__all__ = [
    "ActionNotPermitted", "AttachmentUnavailable", "ConcurrentUpdate", "DomainError", "EventLogImmutable",
    "IllegalTransition", "InvalidInput", "NotFound", "NotNow", "RequestNotFound",
]


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


class RequestNotFound(NotFound):
    """No access request (or attachment) by that id or reference, or not one the user may see."""


class EventLogImmutable(DomainError):
    """The event log is append-only: an event row is never updated or deleted."""

    code = "event_log_immutable"
    http_status = 409


class AttachmentUnavailable(DomainError):
    """The attachment exists but is not served: quarantined until the antivirus says it is clean,
    or infected (its content was deleted)."""

    code = "attachment_unavailable"
    http_status = 409


class NotNow(DomainError):
    """The write exists but not in the request's current state (a message on a draft)."""

    code = "not_now"
    http_status = 409

