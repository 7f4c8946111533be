"""One-time form tokens: a form posted twice acts once.

Every form that creates a record or acts carries a hidden one-time token, written by the
template builtin ``{% form_token %}`` (access_requests/templatetags/form_tokens.py): a random
nonce, signed with the id of the user it was issued to and the time it was issued. Each view
that receives such a form is decorated with ``@once_per_form``, which on POST:

1. reads the token: missing, forged, older than ``HDH_FORM_TOKEN_HOURS`` or issued to another
   user → ``ExpiredForm`` (400, "Ce formulaire a expiré, rechargez la page"), shown by
   hdh_access.middleware with what the user typed;
2. claims its nonce by inserting a ``FormSubmission`` row (unique), in the same transaction as
   the view's writes. A concurrent second post of the same token waits on the unique index until
   the first transaction ends (PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` waits for the write
   lock), then fails to insert: it writes nothing;
3. runs the view. A redirect (the view's success: POST, redirect, GET) is recorded on the row and
   committed with the view's writes; any other answer (a form error) rolls the transaction back,
   so the token stays usable and the user corrects and resends. A ``DomainError`` from a
   service rolls back too and reaches the middleware unchanged;
4. a second post of a claimed token answers the first post's redirect again, with a note that the
   form had already been sent: it creates nothing and shows no error.

A page whose form is saved before it is sent (the portal's autosave, portal/autosave.py) creates
its record once per token with ``create_once``: the first caller claims a second row,
``created:<nonce>``, and records the created record's URL on it; a concurrent caller waits on the
unique index, then reads that URL. This claim is not the form's own: the final post of the form
still claims the bare nonce through ``@once_per_form`` and acts (it updates what the autosave
created, with the latest text), and ``was_sent`` tells a late autosave that the form was sent.

Claimed tokens are purged after ``HDH_FORM_TOKEN_HOURS`` (``purge_form_submissions``, nightly
beat task and ``manage.py purge_form_tokens``); a token that old is refused before its row is
looked up, so a purged token can never be replayed.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.core import signing
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.utils import timezone
from django.utils.translation import gettext as _

from access_requests.models import FormSubmission
from hdh_access.lib.errors import ExpiredForm, FormAlreadySent

FIELD_NAME = "form_token"
_SALT = "access_requests.form_tokens"
_CREATED = "created:"  # the claim of the record a page created before its form was sent (create_once)


def _max_age() -> dt.timedelta:
    return dt.timedelta(hours=settings.HDH_FORM_TOKEN_HOURS)


def issue_token(user) -> str:
    """A fresh one-time token for a form rendered to ``user``."""
    return signing.TimestampSigner(salt=_SALT).sign(f"{user.pk}:{secrets.token_urlsafe(24)}")


def read_token(value: str, *, user) -> str:
    """The nonce of a token issued to ``user`` within the allowed age, or ExpiredForm."""
    try:
        payload = signing.TimestampSigner(salt=_SALT).unsign(value or "", max_age=_max_age())
    except signing.BadSignature:  # also SignatureExpired
        raise ExpiredForm(_("Ce formulaire a expiré, rechargez la page.")) from None
    owner, _sep, nonce = payload.partition(":")
    if not user.is_authenticated or owner != str(user.pk) or not nonce:
        raise ExpiredForm(_("Ce formulaire a expiré, rechargez la page."))
    return nonce


def _claim(nonce: str, user) -> FormSubmission | None:
    """The new claim of ``nonce``, or None when a post already claimed it (and committed)."""
    try:
        with transaction.atomic():
            return FormSubmission.objects.create(token=nonce, user=user)
    except IntegrityError:
        return None


def _is_result(response: HttpResponseBase) -> bool:
    return 300 <= response.status_code < 400 and response.has_header("Location")


def _replay(request: HttpRequest, nonce: str) -> HttpResponse:
    first = FormSubmission.objects.filter(token=nonce).exclude(result_url="").first()
    # Cannot happen: the signed token is this user's, and a claim commits only with its result.
    if first is None or first.user_id != request.user.pk:
        raise ExpiredForm(_("Ce formulaire a expiré, rechargez la page."))
    messages.info(request, _("Ce formulaire avait déjà été envoyé : il n'a été pris en compte qu'une fois."))
    response = HttpResponse(status=first.status)
    response["Location"] = first.result_url
    return response


def once_per_form(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """A POST to ``view`` acts once per form token (see the module's docstring). Put it below
    the decorators that sign in and check roles, so an anonymous user is sent to log in."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponseBase:
        if request.method != "POST":
            return view(request, *args, **kwargs)
        nonce = read_token(request.POST.get(FIELD_NAME, ""), user=request.user)
        with transaction.atomic():
            claim = _claim(nonce, request.user)
            if claim is not None:
                response = view(request, *args, **kwargs)
                if not _is_result(response):
                    transaction.set_rollback(True)  # a form error: nothing written, the token stays usable
                    return response
                claim.result_url, claim.status = response["Location"], response.status_code
                claim.save(update_fields=["result_url", "status"])
                return response
        return _replay(request, nonce)

    return wrapper


def posted_nonce(request: HttpRequest) -> str:
    """The nonce of the token posted in ``request``'s form, or ExpiredForm (see read_token)."""
    return read_token(request.POST.get(FIELD_NAME, ""), user=request.user)


def refuse_if_sent(nonce: str) -> None:
    """FormAlreadySent (409) when the form carrying ``nonce`` has been sent (its claim committed)."""
    if FormSubmission.objects.filter(token=nonce).exclude(result_url="").exists():
        raise FormAlreadySent(_("Ce formulaire a déjà été envoyé : rechargez la page pour continuer."))


def create_once(nonce: str, user, create: Callable[[], str]) -> tuple[str, bool]:
    """The URL of the record that the page of ``nonce`` created, and whether this call created it.

    The first call claims ``created:<nonce>``, runs ``create`` (which writes the record and returns
    its URL) and records the URL, all in the caller's transaction: a concurrent call with the same
    nonce waits on the unique index until that transaction ends, then reads the URL (or, if it
    rolled back, claims and creates in its turn). So a page creates one record, however many of
    its posts race.
    """
    key = _CREATED + nonce
    with transaction.atomic():
        claim = _claim(key, user)
        if claim is not None:
            claim.result_url, claim.status = create(), 201
            claim.save(update_fields=["result_url", "status"])
            return claim.result_url, True
    first = FormSubmission.objects.filter(token=key).exclude(result_url="").first()
    # Cannot happen: the nonce comes from a token signed for this user, and a claim commits with its URL.
    if first is None or first.user_id != user.pk:
        raise ExpiredForm(_("Ce formulaire a expiré, rechargez la page."))
    return first.result_url, False


def created_by_page(nonce: str) -> bool:
    """Whether the page of ``nonce`` created a record (``create_once``): its form is then that
    record's creation, even when it is posted to the record's edit page."""
    return FormSubmission.objects.filter(token=_CREATED + nonce).exclude(result_url="").exists()


def purge_form_submissions(*, now: dt.datetime | None = None) -> int:
    """Delete the claims older than a token may be (they can no longer be replayed); how many."""
    cutoff = (now or timezone.now()) - _max_age()
    deleted, _by_model = FormSubmission.objects.filter(created_at__lt=cutoff).delete()
    return deleted
