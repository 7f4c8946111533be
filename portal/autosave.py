"""Autosave of the draft form (portal/templates/portal/form.html, portal/static/portal/autosave.js).

What the user gets: every 30 seconds, when the form changed, the browser posts its fields here and
shows "Enregistré à 14 h 05"; the text is also kept in the browser's localStorage until a save has
taken all of it, so a session that expired, a failed post or a closed tab loses nothing. Without
JavaScript the form works as before (its submit button saves the draft).

The two endpoints answer JSON only, never a redirect or a login page:

- ``POST /portal/requests/<reference>/autosave/`` (the edit page) updates the draft through
  ``services.update_draft``, which refuses a request that is no longer a draft (409) and a user who
  may not edit it (403); a request the user may not see is a 404.
- ``POST /portal/new/autosave/`` (the new-request page, no draft yet) creates the draft on its
  first call and updates it on the next ones; it answers the draft's ``edit_url``, and the script
  then points the form (and the address bar, ``history.replaceState``) at the edit page.

A draft may be incomplete: what the user typed is saved as typed, field by field, even when the
form would not validate as a whole. A field that fails its own check (a date in the past, a text
too long, a procedure that does not fit the datasets: then the procedure, datasets and own data
together) keeps its saved value and is named in ``unsaved``; the browser keeps its text. The title
is the one thing a draft cannot lack: on the new page without a title nothing is created (a 400
that says so), on the edit page an emptied title keeps the saved one.

**One draft per page, whatever races.** The page's one-time form token (access_requests.form_tokens)
is the page's identity. The autosave of the new page does not claim the token itself (that claim is
the final submit's, through ``@once_per_form``): it calls ``form_tokens.create_once``, which claims
``created:<nonce>`` in the transaction that creates the draft and records the draft's edit URL on
it. Two autosaves that race wait on that claim's unique index: the second finds the first's draft
and updates it. The final submit (``views.request_create``) goes through the same ``create_once``:
if an autosave created the draft, the submit updates it with the latest text instead of creating
a second one, whether or not the script had switched the form's action to the edit page (posted
there, it still answers as the creation: ``form_tokens.created_by_page``). And since
the final submit claims the bare nonce and records its redirect, an autosave that arrives after it
(a beacon sent while the page was leaving) is refused with a 409 (``refuse_if_sent``) and cannot
put older text back. The script also waits for a save in flight before it lets the form go.

**Session expiry.** An anonymous post gets a 401 JSON (``signed_out``) with the sign-in URL. The
script keeps the fields in localStorage (keyed by user and form: ``hdh-draft:<user id>:<reference
or "new">``), shows a link to sign in again that comes back to the form, and on the form offers
to restore the text it kept ("Restaurer le texte non enregistré") or to discard it. When something
is unsaved, the script saves once more before it lets the final submit go: an expired session is
seen before the page is left, and the kept text is cleared once saved (so the form of a request
already filed never offers it). The submit is then asynchronous: a browser test waits for the
navigation (``page.wait_for_url``, ``expect``) rather than reading the page right after the click.
Without the script, or if it never answers, a post while signed out goes to the sign-in page and
comes back to the form, where the kept text is offered.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.db import transaction
from django.http import Http404, HttpRequest, JsonResponse
from django.urls import get_script_prefix, resolve, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from access_requests import services
from access_requests.exceptions import RequestNotFound
from access_requests.form_tokens import create_once, posted_nonce, refuse_if_sent
from access_requests.models import AccessRequest
from portal import selectors
from portal.forms import DraftForm

# Saved or not together: the form checks that the procedure fits the datasets and own data.
LINKED_FIELDS = ("route", "datasets", "brings_own_data")
TEXT_FIELDS = ("summary", "public_interest", "methodology", "team_members")


def autosave_endpoint(view: Callable[..., JsonResponse]) -> Callable[..., JsonResponse]:
    """POST only, signed in, never cached: every other case is a JSON answer (405, 401)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> JsonResponse:
        if request.method != "POST":
            response = JsonResponse({"error": "method_not_allowed", "message": _("Méthode non autorisée.")},
                                    status=405)
            response["Allow"] = "POST"
            return response
        if not request.user.is_authenticated:
            return JsonResponse({
                "error": "signed_out", "login_url": reverse("login"),
                "message": _("Votre session a expiré : reconnectez-vous pour enregistrer le brouillon. "
                             "Votre texte est gardé dans ce navigateur."),
            }, status=401)
        return view(request, *args, **kwargs)

    return never_cache(wrapper)


def saveable(form: DraftForm) -> tuple[dict, list[str]]:
    """What of the bound ``form`` can be saved (``update_draft``'s arguments), and the labels of
    the fields that cannot (they failed their check)."""
    form.is_valid()
    data, errors = form.cleaned_data, form.errors
    values: dict = {}
    if "title" in data:
        values["title"] = data["title"]
    for name in TEXT_FIELDS:
        if name in data:
            values[name] = data[name] or ""
    if data.get("expected_start"):
        values["expected_start"] = data["expected_start"]
    if not any(name in errors for name in LINKED_FIELDS):
        values.update({name: data[name] for name in LINKED_FIELDS})
    unsaved = [str(field.label) for name, field in form.fields.items()
               if name in errors or (name in LINKED_FIELDS and any(n in errors for n in LINKED_FIELDS))]
    return values, unsaved


def time_of_day(instant) -> str:
    """The time in the language's TIME_FORMAT (hdh_access/formats: "14 h 05", "2:05 pm")."""
    return date_format(timezone.localtime(instant), "TIME_FORMAT")


def _saved(access_request: AccessRequest, unsaved: list[str]) -> JsonResponse:
    now = timezone.now()
    return JsonResponse({
        "saved_at": now.isoformat(), "saved_at_display": time_of_day(now),
        "reference": access_request.reference,
        "edit_url": reverse("portal:edit", args=[access_request.reference]),
        "autosave_url": reverse("portal:autosave", args=[access_request.reference]),
        "unsaved": unsaved,
    })


def _visible(user, reference: str) -> AccessRequest:
    try:
        return selectors.request_for_action(user, reference)
    except Http404:
        raise RequestNotFound(_("Demande introuvable.")) from None


def draft_of_page(request: HttpRequest, *, title: str) -> tuple[AccessRequest, bool]:
    """The draft created by the page whose form token ``request`` posts (by an autosave or by
    the form itself), created now with ``title`` if there is none yet; and whether it was."""

    def create() -> str:
        created = services.create_draft(actor=request.user, title=title)
        return reverse("portal:edit", args=[created.reference])

    url, created = create_once(posted_nonce(request), request.user, create)
    path = "/" + url.removeprefix(get_script_prefix())
    return _visible(request.user, resolve(path).kwargs["reference"]), created


@autosave_endpoint
def autosave_new(request):
    """The new-request page's autosave: the first creates the draft, the next update it."""
    nonce = posted_nonce(request)
    refuse_if_sent(nonce)
    values, unsaved = saveable(DraftForm(request.POST))
    if "title" not in values:
        return JsonResponse({"error": "title_required", "unsaved": unsaved, "message": _(
            "Le brouillon s'enregistrera automatiquement dès que le projet aura un titre (300 caractères au plus). "
            "En attendant, votre texte est gardé dans ce navigateur.")}, status=400)
    with transaction.atomic():
        access_request, _created = draft_of_page(request, title=values["title"])
        access_request = services.update_draft(request_id=access_request.pk, actor=request.user, **values)
    return _saved(access_request, unsaved)


@autosave_endpoint
def autosave_draft(request, reference: str):
    """The edit page's autosave: updates the draft with what can be saved of the form."""
    refuse_if_sent(posted_nonce(request))
    access_request = _visible(request.user, reference)
    form = DraftForm(request.POST, initial={"expected_start": access_request.expected_start})
    values, unsaved = saveable(form)
    access_request = services.update_draft(request_id=access_request.pk, actor=request.user, **values)
    return _saved(access_request, unsaved)
