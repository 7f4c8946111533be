"""The thread of a request: messages between the applicant's team and the reviewers, the
reviewers' internal notes, read receipts, and the claim of the batched emails.

A message changes no state, so it writes no event row; it is written under the request's row
lock like every write on the request. Who writes decides the side: the applicant's team
(``Role.APPLICANT``: the project leader and the members of the applicant organisation) or the
reviewers (the reviewer roles that may act on the request; management only reads). Only
reviewers write internal notes, which the applicant never sees (the selectors leave them out).
Its attachments go through the dossier's checks (``check_upload``) and antivirus quarantine.

No email is sent from here: ``notifications.dossier_messages`` (a periodic job) claims the
messages still without one (``claim_unnotified``) and writes one email per recipient and request.
An information request and its answer are messages written by the pathway's services
(``pathway.request_information``, ``answer_information``), marked notified at once: their
transition has its own email. Every message is announced in its transaction by
``signals.message_posted`` (the webhook deliveries of notifications.webhooks).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from access_requests import signals
from access_requests.attachments import CheckedUpload, check_upload
from access_requests.exceptions import ActionNotPermitted, InvalidInput, NotNow, RequestNotFound
from access_requests.models import AccessRequest, AttachmentKind, Event, Message, MessageKind, MessageReceipt
from access_requests.roles import user_roles
from access_requests.services.core import acting_role, load_for_update, text
from access_requests.services.dossier import store_attachment
from access_requests.workflow import REVIEWER_ROLES, Role, State

MESSAGE_MAX_LENGTH = 20_000
MAX_MESSAGE_ATTACHMENTS = 5
# Who takes part in a thread: the applicant's team and the reviewers.
THREAD_ROLES = frozenset({Role.APPLICANT, *REVIEWER_ROLES})


def thread_role(request: AccessRequest, actor, acting_as: Iterable[str] | None = None) -> str:
    """The side and role ``actor`` writes or reads the thread in: ``Role.APPLICANT`` for the
    applicant's team, else their reviewer role (``acting_role``: an administrator is recorded as
    such). ``acting_as`` narrows it to the caller's channel (the portal: the applicant's side).
    ActionNotPermitted when they take no part in it (management, another organisation)."""
    if actor is None or not actor.is_authenticated:
        raise ActionNotPermitted(_("Connectez-vous pour écrire un message."))
    usable = user_roles(actor, request) & THREAD_ROLES
    if acting_as is not None:
        usable &= set(acting_as)
    if not usable:
        raise ActionNotPermitted(_("Votre rôle ne permet pas d'écrire dans les messages de la demande %(reference)s.")
                                 % {"reference": request.reference})
    if usable == {Role.APPLICANT}:
        return Role.APPLICANT
    return acting_role(request, actor, REVIEWER_ROLES, acting_as)


def check_uploads(uploads: Sequence) -> list[CheckedUpload]:
    """Check every file before anything is written (the same checks as the dossier's documents)."""
    uploads = [upload for upload in uploads if upload is not None]
    if len(uploads) > MAX_MESSAGE_ATTACHMENTS:
        raise InvalidInput(_("Un message porte au plus %(n)d pièces jointes.") % {"n": MAX_MESSAGE_ATTACHMENTS})
    return [check_upload(upload) for upload in uploads]


def _attach(message: Message, checked: Sequence[CheckedUpload], *, actor) -> None:
    for upload in checked:
        store_attachment(message.request, upload, actor=actor, kind=AttachmentKind.OTHER, message=message)


def post_message(*, request_id: int, actor, body: str, internal: bool = False, uploads: Sequence = (),
                 acting_as: Iterable[str] | None = None) -> Message:
    """Write a message in the request's thread, with its attachments (checked first, stored in
    quarantine when an antivirus is configured). ``internal``: a reviewers' note (reviewers only).
    Refused on a draft: the thread opens when the request is submitted."""
    body = text(body, _("message"), max_length=MESSAGE_MAX_LENGTH)
    checked = check_uploads(uploads)
    with transaction.atomic():
        request = load_for_update(request_id)
        role = thread_role(request, actor, acting_as)
        if internal and role == Role.APPLICANT:
            raise ActionNotPermitted(_("Seules les équipes d'instruction écrivent des notes internes."))
        if request.state == State.DRAFT:
            raise NotNow(_("Les messages s'échangent une fois la demande %(reference)s déposée.")
                         % {"reference": request.reference})
        message = Message.objects.create(request=request, author=actor, role=role, kind=MessageKind.MESSAGE,
                                         internal=bool(internal), body=body)
        _attach(message, checked, actor=actor)
        signals.message_posted.send(sender=Message, message=message)
    return message


def record_pathway_message(request: AccessRequest, event: Event, *, actor, role: str, kind: str, body: str,
                           checked: Sequence[CheckedUpload] = ()) -> Message:
    """The message of an information request or of its answer, written by the pathway's service
    inside its transaction, right after its event (``core.act(after=...)``). Notified at once:
    the transition's own email tells the other side."""
    message = Message.objects.create(request=request, author=actor, role=role, kind=kind, body=body, event=event,
                                     created_at=event.at, notified_at=event.at)
    _attach(message, checked, actor=actor)
    signals.message_posted.send(sender=Message, message=message)
    return message


def mark_read(*, request_id: int, actor, message_ids: Iterable[int], acting_as: Iterable[str] | None = None) -> int:
    """Record that ``actor`` has read these messages (those of the request's page they opened):
    one receipt per message and reader, the first time only; never for their own messages, nor
    for an internal note on the applicant's side. Someone who takes no part in the thread
    (management) leaves no receipt. Returns how many receipts were written."""
    request = AccessRequest.objects.filter(pk=request_id).first()
    if request is None:
        raise RequestNotFound(_("Demande introuvable."))
    try:
        role = thread_role(request, actor, acting_as)
    except ActionNotPermitted:
        return 0
    unread = (Message.objects.filter(request_id=request_id, pk__in=list(message_ids))
              .exclude(author_id=actor.pk)
              .exclude(Exists(MessageReceipt.objects.filter(message_id=OuterRef("pk"), user_id=actor.pk))))
    if role == Role.APPLICANT:
        unread = unread.filter(internal=False)
    ids = list(unread.values_list("pk", flat=True))
    if not ids:
        return 0
    now = timezone.now()
    created = MessageReceipt.objects.bulk_create(
        [MessageReceipt(message_id=pk, user_id=actor.pk, role=role, read_at=now) for pk in ids],
        ignore_conflicts=True)  # the same page opened twice at once: one receipt
    return len(created)


# --- the batched emails ---------------------------------------------------------------------------
def requests_with_unnotified_messages(*, older_than: dt.datetime) -> list[int]:
    """The requests with a message still without its email, written before ``older_than``."""
    return list(Message.objects.filter(notified_at__isnull=True, created_at__lte=older_than)
                .order_by("request_id").values_list("request_id", flat=True).distinct())


def claim_unnotified(*, request_id: int, now: dt.datetime) -> list[Message]:
    """Inside the caller's transaction: take this request's messages still without an email and
    mark them notified at ``now``; the caller writes their emails in the same transaction.

    The rows are locked (those another sender holds are skipped) and the conditional update only
    claims what is still unclaimed, so two senders never claim the same message: run twice, the
    second finds nothing to do.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("claim_unnotified runs inside the transaction that writes the emails")
    rows = list(Message.objects.select_for_update(skip_locked=True)
                .filter(request_id=request_id, notified_at__isnull=True).order_by("created_at", "id"))
    if not rows:
        return []
    claimed = Message.objects.filter(pk__in=[m.pk for m in rows], notified_at__isnull=True).update(notified_at=now)
    if claimed != len(rows):  # pragma: no cover - the rows are locked by this transaction
        raise RuntimeError("messages claimed by another sender while locked")
    for message in rows:
        message.notified_at = now
    return rows
