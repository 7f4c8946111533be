"""The applicant portal: my requests, a draft's form, a request's page and its actions.

Reads go through ``selectors.portal`` (visibility: the user's organisation; anything else is a
404), writes through ``services``. A form's own errors re-render it with what the user typed; a
``DomainError`` from a service (a refused write) is not caught here: hdh_access.middleware turns
it into the error page. Every view that writes is ``@once_per_form``: its form's one-time token
makes a second post of the same form answer the first one's redirect (access_requests.form_tokens).
The draft form also saves itself every 30 seconds (portal/autosave.py): a new-request page creates
one draft however its autosaves and its final submit race.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import transaction
from django.http import QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from access_requests import services
from access_requests.form_tokens import created_by_page, once_per_form, posted_nonce
from access_requests.models import AccessRequest, ScanStatus
from access_requests.workflow import Role, State
from delays.materialise import shown_baseline_medians
from documents import responses as documents
from portal import selectors
from portal.autosave import draft_of_page
from portal.forms import (
    AnswerForm,
    AttachmentForm,
    DraftForm,
    MessageForm,
    PublicSummaryForm,
    RequestListForm,
    ResultsUrlForm,
    SubmitForm,
    WithdrawForm,
)

PAGE_SIZE = 20
LIST_FILTERS = {
    "all": None,
    "action": selectors.AWAITING_APPLICANT_STATES,
    "open": tuple(s for s in State.values if s not in (*selectors.AWAITING_APPLICANT_STATES, *selectors.ENDED_STATES)),
    "ended": selectors.ENDED_STATES,
}


def _detail_url(access_request: AccessRequest, anchor: str = "") -> str:
    url = reverse("portal:detail", args=[access_request.reference])
    return f"{url}#{anchor}" if anchor else url


# --- my requests -------------------------------------------------------------------------------
@login_required
@require_GET
def request_list(request):
    form = RequestListForm(request.GET or None)
    q, sort = form.values()
    current = request.GET.get("filter", "all")
    if current not in LIST_FILTERS:
        current = "all"
    queryset = selectors.request_list(request.user, q=q, sort=sort)
    if LIST_FILTERS[current]:
        queryset = queryset.filter(state__in=LIST_FILTERS[current])
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    filters = [
        ("all", _("Toutes")), ("action", _("Action attendue de votre part")),
        ("open", _("En cours d'instruction")), ("ended", _("Terminées")),
    ]
    # The search and the sort follow the filter tags and the pages (the page number does not).
    kept = QueryDict(mutable=True)
    kept.update({name: value for name, value in (("q", q), ("sort", sort)) if value})
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "portal/list.html", {
        "page": page, "rows": selectors.list_rows(page.object_list), "filters": filters, "current_filter": current,
        "form": form, "search": q, "kept": kept.urlencode(), "query": query.urlencode(),
    })


# --- drafts ------------------------------------------------------------------------------------
def _draft_texts(cleaned: dict) -> dict:
    return {name: cleaned.get(name) or "" for name in ("public_interest", "methodology", "team_members")}


def _draft_created(request, draft: AccessRequest):
    messages.success(request, _("Brouillon %(reference)s enregistré. Ajoutez les pièces du dossier, puis "
                                "déposez la demande.") % {"reference": draft.reference})
    return redirect(_detail_url(draft, "pieces"))


@login_required
@require_http_methods(["GET", "POST"])
@once_per_form
def request_create(request):
    form = DraftForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            with transaction.atomic():
                # Once per page: the draft an autosave of this page created, if any, gets the latest text.
                created, _new = draft_of_page(request, title=data["title"])
                services.update_draft(
                    request_id=created.pk, actor=request.user, title=data["title"], summary=data["summary"],
                    datasets=data["datasets"], route=data["route"], brings_own_data=data["brings_own_data"],
                    expected_start=data["expected_start"], **_draft_texts(data))
            return _draft_created(request, created)
    return render(request, "portal/form.html", {"form": form, "access_request": None}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
@once_per_form
def request_edit(request, reference: str):
    access_request = selectors.request_for_page(request.user, reference)
    if request.method == "GET" and not selectors.can_edit(access_request):
        messages.info(request, _("Cette demande est déposée : son contenu ne se modifie plus."))
        return redirect(_detail_url(access_request))
    initial = {
        "title": access_request.title, "summary": access_request.summary,
        "public_interest": access_request.public_interest, "methodology": access_request.methodology,
        "route": access_request.route, "datasets": list(access_request.datasets.all()),
        "brings_own_data": access_request.brings_own_data, "team_members": access_request.team_members,
        "expected_start": access_request.expected_start,
    }
    form = DraftForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            services.update_draft(
                request_id=access_request.pk, actor=request.user, title=data["title"], summary=data["summary"],
                datasets=data["datasets"], route=data["route"], brings_own_data=data["brings_own_data"],
                expected_start=data["expected_start"], **_draft_texts(data))
            if created_by_page(posted_nonce(request)):  # a new-request page whose autosave made the draft
                return _draft_created(request, access_request)
            messages.success(request, _("Brouillon enregistré."))
            return redirect(_detail_url(access_request))
    return render(request, "portal/form.html", {"form": form, "access_request": access_request}, status=status)


# --- a request's page --------------------------------------------------------------------------
def _render_detail(request, access_request: AccessRequest, *, status: int = 200, attachment_form=None,
                   submit_form=None, answer_form=None, message_form=None, problems=None, error: str = "",
                   mark_read: bool = False, summary_form=None, results_form=None):
    medians = shown_baseline_medians()
    figures = selectors.delay_figures(access_request, now=timezone.now(), medians=medians)
    visits = selectors.stage_visits(figures)
    seen = {"expected_state": access_request.state}
    if problems is None and access_request.state == State.DRAFT:
        problems = selectors.completeness_problems(access_request)
    thread = selectors.thread(access_request)
    context = {
        "access_request": access_request,
        "figures": figures,
        "forecast_known": bool(figures and figures.forecast_known),
        "visits": visits,
        "current_visit": visits[-1] if visits and visits[-1].is_current else None,
        "totals": selectors.stage_totals(figures),
        "history": selectors.history(access_request),
        "question": selectors.open_question(access_request, visits),
        "answer_refused": answer_form is not None and access_request.state != State.AWAITING_APPLICANT,
        "progress": selectors.progress(access_request),
        "holder_lines": selectors.holder_lines(access_request),
        "problems": problems or [],
        "can_edit": selectors.can_edit(access_request),
        "can_upload": selectors.can_upload(access_request),
        "can_withdraw": selectors.can_withdraw(access_request),
        "state_label": selectors.state_label(access_request.state),
        "attachment_form": attachment_form or AttachmentForm(),
        "submit_form": submit_form or SubmitForm(initial=seen),
        "answer_form": answer_form or AnswerForm(initial=seen),
        "thread": thread,
        "can_write_messages": selectors.can_write_messages(access_request),
        "message_form": message_form or MessageForm(auto_id="message-%s"),
        "error": error,
        **_publication_context(access_request, summary_form=summary_form, results_form=results_form),
    }
    response = render(request, "portal/detail.html", context, status=status)
    if mark_read and thread:
        # The messages the page shows are read now (receipts, for the reviewers' side to see).
        services.mark_read(request_id=access_request.pk, actor=request.user, acting_as={Role.APPLICANT},
                           message_ids=[row.message.pk for row in thread])
    return response


def _publication_context(access_request: AccessRequest, *, summary_form=None, results_form=None) -> dict:
    """What the public directory publishes of the request (the same selector and include as its
    page), and the forms of what the team may still change."""
    preview = selectors.public_preview(access_request)
    return {
        "public_preview": preview,
        "summary_editable": preview.summary_editable,
        "results_editable": preview.results_editable,
        "summary_form": summary_form or PublicSummaryForm(
            initial={"public_summary": access_request.public_summary}, auto_id="public-%s"),
        "results_form": results_form or ResultsUrlForm(
            initial={"results_url": access_request.results_url}, auto_id="results-%s"),
    }


@login_required
@require_GET
def request_detail(request, reference: str):
    return _render_detail(request, selectors.request_for_page(request.user, reference), mark_read=True)


@login_required
@require_POST
@once_per_form
def upload(request, reference: str):
    access_request = selectors.request_for_action(request.user, reference)
    form = AttachmentForm(request.POST, request.FILES)
    if form.is_valid():
        attachment = services.add_attachment(request_id=access_request.pk, actor=request.user,
                                             uploaded=form.cleaned_data["file"], kind=form.cleaned_data["kind"])
        if attachment.scan_status == ScanStatus.PENDING:
            messages.success(request, _("Pièce « %(name)s » ajoutée au dossier. Elle est en cours d'analyse antivirus et "
                                        "sera téléchargeable dès qu'elle aura été déclarée saine.")
                             % {"name": attachment.original_name})
        else:
            messages.success(request, _("Pièce « %(name)s » ajoutée au dossier.") % {"name": attachment.original_name})
        return redirect(_detail_url(access_request, "pieces"))
    page = selectors.request_for_page(request.user, reference)
    return _render_detail(request, page, status=400, attachment_form=form)


@login_required
@require_POST
@once_per_form
def remove_attachment(request, attachment_id: int):
    attachment = selectors.attachment_for_removal(request.user, attachment_id)
    services.remove_attachment(attachment_id=attachment.pk, actor=request.user)
    messages.success(request, _("Pièce « %(name)s » retirée du dossier.") % {"name": attachment.original_name})
    return redirect(_detail_url(attachment.request, "pieces"))


@never_cache
@login_required
@require_GET
def download(request, attachment_id: int):
    # Quarantined or infected: a 409 page saying why (documents.responses.attachment).
    return documents.attachment(selectors.attachment_for_download(request.user, attachment_id))


@login_required
@require_POST
@once_per_form
def submit(request, reference: str):
    access_request = selectors.request_for_action(request.user, reference)
    form = SubmitForm(request.POST)
    if not form.is_valid():
        page = selectors.request_for_page(request.user, reference)
        return _render_detail(request, page, status=400, submit_form=form)
    # The service locks the row and refuses an incomplete dossier, listing what is missing (the
    # error page shows the list).
    services.submit(request_id=access_request.pk, actor=request.user, expected_state=form.cleaned_data["expected_state"])
    messages.success(request, _("Demande %(reference)s déposée. Le secrétariat du HDH vérifie qu'elle est complète "
                                "(7 jours ouvrés).") % {"reference": access_request.reference})
    return redirect(_detail_url(access_request))


@login_required
@require_POST
@once_per_form
def answer(request, reference: str):
    access_request = selectors.request_for_action(request.user, reference)
    form = AnswerForm(request.POST, request.FILES)
    if form.is_valid():
        services.answer_information(request_id=access_request.pk, actor=request.user,
                                    answer=form.cleaned_data["answer"], uploads=form.cleaned_data["documents"],
                                    expected_state=form.cleaned_data["expected_state"], acting_as={Role.APPLICANT})
        messages.success(request, _("Réponse envoyée : l'instruction de votre demande reprend."))
        return redirect(_detail_url(access_request))
    page = selectors.request_for_page(request.user, reference)
    return _render_detail(request, page, status=400, answer_form=form)


@login_required
@require_POST
@once_per_form
def post_message(request, reference: str):
    """A message of the applicant's team to the reviewers, with its documents."""
    access_request = selectors.request_for_action(request.user, reference)
    form = MessageForm(request.POST, request.FILES, auto_id="message-%s")
    if form.is_valid():
        message = services.post_message(request_id=access_request.pk, actor=request.user,
                                        body=form.cleaned_data["body"], uploads=form.cleaned_data["documents"],
                                        acting_as={Role.APPLICANT})
        pending = any(a.scan_status == ScanStatus.PENDING for a in message.attachments.all())
        messages.success(request, _("Message envoyé. Ses pièces jointes sont en cours d'analyse antivirus.") if pending
                         else _("Message envoyé."))
        return redirect(_detail_url(access_request, "messages"))
    page = selectors.request_for_page(request.user, reference)
    return _render_detail(request, page, status=400, message_form=form)


@login_required
@require_http_methods(["GET", "POST"])
@once_per_form
def withdraw(request, reference: str):
    access_request = selectors.request_for_action(request.user, reference)
    if request.method == "GET" and not selectors.can_withdraw(access_request):
        messages.info(request, _("Cette demande ne peut plus être retirée."))
        return redirect(_detail_url(access_request))
    form = WithdrawForm(request.POST or None, initial={"expected_state": access_request.state})
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            services.withdraw(request_id=access_request.pk, actor=request.user,
                              reason=form.cleaned_data["reason"], expected_state=form.cleaned_data["expected_state"])
            messages.success(request, _("Demande %(reference)s retirée.") % {"reference": access_request.reference})
            return redirect(_detail_url(access_request))
    return render(request, "portal/withdraw.html", {
        "access_request": access_request, "form": form, "state_label": selectors.state_label(access_request.state),
    }, status=status)


@login_required
@require_POST
@once_per_form
def public_summary(request, reference: str):
    """The team edits the summary the directory publishes (refused after the decision: the service
    says why, on the error page)."""
    access_request = selectors.request_for_action(request.user, reference)
    form = PublicSummaryForm(request.POST, auto_id="public-%s")
    if form.is_valid():
        services.set_public_summary(request_id=access_request.pk, actor=request.user,
                                    public_summary=form.cleaned_data["public_summary"])
        messages.success(request, _("Résumé public enregistré."))
        return redirect(_detail_url(access_request, "publication"))
    page = selectors.request_for_page(request.user, reference)
    return _render_detail(request, page, status=400, summary_form=form)


@login_required
@require_POST
@once_per_form
def results_url(request, reference: str):
    """The team adds, changes or removes the link to the published results (once public)."""
    access_request = selectors.request_for_action(request.user, reference)
    form = ResultsUrlForm(request.POST, auto_id="results-%s")
    if form.is_valid():
        services.set_results_url(request_id=access_request.pk, actor=request.user,
                                 results_url=form.cleaned_data["results_url"])
        messages.success(request, _("Lien vers les résultats enregistré."))
        return redirect(_detail_url(access_request, "publication"))
    page = selectors.request_for_page(request.user, reference)
    return _render_detail(request, page, status=400, results_form=form)


# --- the dossier's documents (documents/) ------------------------------------------------------
@never_cache
@login_required
@require_GET
def receipt(request, reference: str):
    """The receipt of the submission, in the page's language (a draft has none: 404 saying so)."""
    return documents.receipt(selectors.request_for_action(request.user, reference), language=get_language())


@never_cache
@login_required
@require_GET
def dossier_pdf(request, reference: str):
    return documents.dossier_pdf(selectors.request_for_action(request.user, reference), language=get_language())


@never_cache
@login_required
@require_GET
def dossier_zip(request, reference: str):
    return documents.dossier_zip(selectors.request_for_action(request.user, reference), language=get_language())
