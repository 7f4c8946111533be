"""The back office: queues, a request's page and its actions, the delay dashboard, and (for the
secretariat) the organisations: requests to join, merging duplicates.

Reads go through ``selectors.backoffice`` and ``dashboard`` (the queue, the dashboard and their
downloads on the read replica when there is one: ``@replica_reads``); every write goes through
``services`` with the state the reviewer saw (``expected_state``). A form's own errors re-render
the request's page; a refused action (a ``DomainError``) is not caught here: hdh_access.middleware
shows the service's explanation with the matching HTTP status (400, 403, 409) and a link back.
Nothing is written then, since each service runs in one transaction. Every view that writes is
``@once_per_form``: a second post of the same form answers the first one's redirect and acts
no more (access_requests.form_tokens).
"""

from __future__ import annotations

import datetime as dt
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.http import urlencode
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from access_requests import services
from access_requests.form_tokens import once_per_form
from access_requests.models import Attachment, CesreesOpinion, ScanStatus
from access_requests.roles import user_roles
from access_requests.workflow import EventAction, HolderTaskState, InformationReason, Role, Route, State, expert_roles
from accounts import selectors as account_selectors
from accounts import services as account_services
from accounts.people import display_name
from backoffice import exports, queue_rows
from backoffice import selectors as sel
from backoffice import services as backoffice_services
from backoffice.forms import (
    ACTION_FORMS,
    BADGE_LABELS,
    SCOPE_LABELS,
    STATUS_LABELS,
    TASK_ACTION_FORMS,
    AssignForm,
    DashboardFilterForm,
    ExchangeForm,
    ExpertInvitationForm,
    MergeOrganisationsForm,
    MessageForm,
    PartnershipForm,
    QueueFilterForm,
    RenameFilterForm,
    SaveFilterForm,
    TaskDueDateForm,
    invalid_filter_labels,
    normalised_query,
)
from delays import services as delay_services
from delays.clock import request_clock
from delays.dashboard import SEGMENTS, DashboardFilters, cache_seconds, cached_dashboard
from delays.durations import in_months
from documents import responses as documents
from hdh_access.db_router import replica_reads
from hdh_access.lib import tabular
from hdh_access.lib.dates import paris_date
from hdh_access.lib.labels import translated

PAGE_SIZE = 50
BADGE_CLASSES = {"overdue": "fr-badge--error", "due_soon": "fr-badge--warning", "on_time": "fr-badge--success",
                 "paused": "fr-badge--info", "no_clock": ""}
STATUS_CLASSES = {"late": "fr-badge--error", "missed": "fr-badge--error", "at_risk": "fr-badge--warning",
                  "on_track": "fr-badge--success", "met": "fr-badge--success", "closed": ""}
ALL_ROLES = frozenset({Role.SECRETARIAT, Role.CESREES, Role.CNIL, Role.DATA_HOLDER, Role.PLATFORM})


def backoffice_required(view):
    """Anonymous users go to the login page; signed-in users without a back-office role get 403."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not sel.can_open_backoffice(request.user):
            return render(request, "backoffice/forbidden.html", status=403)
        return view(request, *args, **kwargs)

    return wrapper


# A wait on the applicant, as the stage table and the time per stage name it.
PAUSE_LABEL = gettext_lazy("En attente du demandeur")


def _state_label(state: str) -> str:
    return str(State(state).label) if state in State.values else state


def _stage_label(state: str) -> str:
    """A stage of the request's story: a wait on the applicant is theirs, not a step."""
    return str(PAUSE_LABEL) if state == State.AWAITING_APPLICANT else _state_label(state)


# --- queue --------------------------------------------------------------------------------------
def _filter_form(request) -> QueueFilterForm:
    default = sel.Scope.QUEUE if sel.queue_states(request.user) is not None else sel.Scope.OPEN
    return QueueFilterForm(request.GET or None, default_scope=default)


@require_GET
@backoffice_required
@replica_reads
def queue(request):
    return _queue_page(request)


def _queue_page(request, *, save_form: SaveFilterForm | None = None, status: int = 200):
    form = _filter_form(request)
    filters = form.filters()
    if filters.scope == sel.Scope.QUEUE and sel.sees_holder_tasks(request.user):
        return _task_queue(request, form, filters, save_form=save_form, status=status)
    qs = sel.queue(request.user, filters)
    paginator = Paginator(qs, PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    rows = sel.queue_page_rows(page.object_list)
    # The labels translated once for the page, not once a row (get_FOO_display, or a label of the
    # choices, would build and translate them at each call).
    badge_labels, status_labels = translated(BADGE_LABELS), translated(STATUS_LABELS)
    state_labels, route_labels = translated(State.choices), translated(Route.choices)
    for row in rows:  # classes and labels here rather than one include per row: the table renders fast
        row["badge_class"], row["badge_label"] = BADGE_CLASSES.get(row["badge"], ""), badge_labels.get(row["badge"], "")
        status_code = row["request"].target_status
        row["status_class"], row["status_label"] = STATUS_CLASSES.get(status_code, ""), status_labels.get(status_code, "")
        state, route = row["request"].state, row["request"].route
        row["state_label"], row["route_label"] = state_labels.get(state, state), route_labels.get(route, route)
    queue_rows.request_rows_html(rows)
    query = request.GET.copy()
    query.pop("page", None)
    roles = sel.staff_roles(request.user)
    return render(request, "backoffice/queue.html", {
        "form": form, "filters": filters, "page": page, "rows": rows, "query": query.urlencode(),
        "scope_label": SCOPE_LABELS.get(filters.scope, ""), "badge_labels": BADGE_LABELS,
        "status_labels": STATUS_LABELS, "role_labels": _role_labels(roles),
        "read_only": sel.is_read_only(request.user), "page_range": _page_range(page), "section": "queue",
        **_saved_filters_context(request, form, save_form),
    }, status=status)


def _saved_filters_context(request, form: QueueFilterForm, save_form: SaveFilterForm | None) -> dict:
    """The queue's "Mes filtres": the user's saved filters (the one matching the page's), the form
    that saves the current filters, the link to the followed requests; on a data holder's task queue too."""
    current = normalised_query(form)
    return {
        "saved_filters": [{"filter": f, "current": bool(current) and f.query == current}
                          for f in sel.saved_filters(request.user)],
        "save_form": save_form or SaveFilterForm(user=request.user, auto_id="save-%s"),
        "followed_query": urlencode({"scope": sel.Scope.FOLLOWED}),
    }


def _task_queue(request, form: QueueFilterForm, filters, *, save_form: SaveFilterForm | None = None,
                status: int = 200):
    """A data holder's queue: one row per open task of its holder, by due date."""
    paginator = Paginator(sel.holder_task_queue(request.user, filters), PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    rows = sel.task_queue_rows(page.object_list)
    badge_labels, task_state_labels = translated(TASK_BADGE_LABELS), translated(HolderTaskState.choices)
    for row in rows:
        row["badge_class"], row["badge_label"] = BADGE_CLASSES.get(row["badge"], ""), badge_labels.get(row["badge"], "")
        state = row["task"].state
        row["task_state_label"] = task_state_labels.get(state, state)
    queue_rows.task_rows_html(rows)
    query = request.GET.copy()
    query.pop("page", None)
    holder = sel.data_holder(request.user)
    return render(request, "backoffice/queue.html", {
        "form": form, "filters": filters, "page": page, "rows": rows, "task_queue": True, "holder": holder,
        "query": query.urlencode(), "scope_label": SCOPE_LABELS.get(filters.scope, ""),
        "role_labels": _role_labels(sel.staff_roles(request.user)), "read_only": False,
        "page_range": _page_range(page), "section": "queue",
        **_saved_filters_context(request, form, save_form),
    }, status=status)


# A task's due date is the holder's own, not a statutory one: its badges say so.
TASK_BADGE_LABELS = {"overdue": gettext_lazy("Échéance dépassée"), "due_soon": gettext_lazy("Échéance proche"),
                     "on_time": gettext_lazy("Dans les temps"), "no_clock": gettext_lazy("Sans échéance"),
                     "paused": gettext_lazy("Demande en attente du demandeur")}


def _role_labels(roles) -> list[str]:
    shown = [r for r in (Role.ADMINISTRATOR, *sel.ACTING_ROLES) if r in roles] or [Role.MANAGEMENT]
    return [str(Role(r).label) for r in shown]


def _page_range(page) -> list:
    return list(page.paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1))


@require_GET
@backoffice_required
@replica_reads
def export(request, fmt: str):
    """The filtered list (every page), one row per request, as CSV or XLSX (backoffice.exports)."""
    form = _filter_form(request)
    columns, rows = exports.queue_table(sel.queue(request.user, form.filters()), now=timezone.now(),
                                        today=timezone.localdate(), months=settings.HDH_TARGET_MONTHS)
    return tabular.download(rows, columns, format=fmt, sheet_title=_("Demandes"),
                            filename=_("instruction-%(date)s") % {"date": exports.file_date()})


# --- saved filters ------------------------------------------------------------------------------
@require_POST
@backoffice_required
@once_per_form
def save_filter(request):
    """Save the filters of the page's query (the form's action carries it) under the name typed."""
    filter_form = _filter_form(request)
    form = SaveFilterForm(request.POST, user=request.user, filter_form=filter_form, auto_id="save-%s")
    if not form.is_valid():
        return _queue_page(request, save_form=form, status=400)
    saved = backoffice_services.save_filter(actor=request.user, name=form.cleaned_data["name"],
                                            query=normalised_query(filter_form))
    messages.success(request, _("Filtre « %(name)s » enregistré : retrouvez-le au-dessus de la liste.") % {
        "name": saved.name})
    return _see_other(_queue_url(saved.query))


def _queue_url(query: str) -> str:
    return reverse("backoffice:queue") + (f"?{query}" if query else "")


def _own_filter(request, filter_id: int):
    saved = sel.saved_filter(request.user, filter_id)
    if saved is None:
        raise Http404(_("Filtre introuvable."))
    return saved


@require_GET
@backoffice_required
def open_filter(request, filter_id: int):
    """Reopen a saved filter: the queue with its query. A value that no longer validates (a
    dataset removed from the catalogue) is named, and the queue ignores it."""
    saved = _own_filter(request, filter_id)
    form = QueueFilterForm(QueryDict(saved.query), default_scope=sel.Scope.QUEUE)
    invalid = invalid_filter_labels(form)
    if invalid:
        messages.warning(request, _(
            "Le filtre « %(name)s » contient une valeur qui n'est plus valable (%(fields)s) : elle est ignorée. "
            "Choisissez une autre valeur et enregistrez le filtre à nouveau, ou supprimez-le.") % {
            "name": saved.name, "fields": ", ".join(invalid)})
    # Re-encoded from its parsed values: whatever the stored row holds, the redirect is a clean URL.
    return redirect(_queue_url(QueryDict(saved.query).urlencode()))


def _filters_page(request, *, bound: RenameFilterForm | None = None, bound_pk: int | None = None,
                  status: int = 200):
    rows = []
    for saved in sel.saved_filters(request.user):
        if bound is not None and saved.pk == bound_pk:
            form = bound
        else:
            form = RenameFilterForm(user=request.user, initial={"name": saved.name}, auto_id=f"rename-{saved.pk}-%s")
        rows.append({"filter": saved, "form": form})
    # ``bound``: the form sent back with its errors, where the page title's "Erreur :" looks for it.
    return render(request, "backoffice/saved_filters.html", {"rows": rows, "bound": bound, "section": "queue"},
                  status=status)


@require_GET
@backoffice_required
def saved_filters(request):
    """The user's saved filters, to rename or delete."""
    return _filters_page(request)


@require_POST
@backoffice_required
@once_per_form
def rename_filter(request, filter_id: int):
    saved = _own_filter(request, filter_id)
    form = RenameFilterForm(request.POST, user=request.user, exclude_pk=saved.pk, auto_id=f"rename-{saved.pk}-%s")
    if not form.is_valid():
        return _filters_page(request, bound=form, bound_pk=saved.pk, status=400)
    renamed = backoffice_services.rename_filter(actor=request.user, filter_id=saved.pk, name=form.cleaned_data["name"])
    messages.success(request, _("Filtre renommé « %(name)s ».") % {"name": renamed.name})
    return _see_other(reverse("backoffice:saved_filters"))


@require_POST
@backoffice_required
@once_per_form
def delete_filter(request, filter_id: int):
    saved = _own_filter(request, filter_id)
    name = backoffice_services.delete_filter(actor=request.user, filter_id=saved.pk)
    messages.success(request, _("Filtre « %(name)s » supprimé.") % {"name": name})
    return _see_other(reverse("backoffice:saved_filters"))


# --- a request ----------------------------------------------------------------------------------
def _load(request, reference: str):
    ar = sel.request_for_reviewer(request.user, reference)
    if ar is None:
        raise Http404(_("Demande introuvable."))
    return ar


@require_GET
@backoffice_required
def detail(request, reference: str):
    ar = _load(request, reference)
    return _render_detail(request, ar, mark_read=True)


def _render_detail(request, ar, *, status: int = 200, error: str = "", bound=None, message_form=None,
                   assign_form=None, expert_form=None, mark_read: bool = False, bound_task=None):
    user = request.user
    now = timezone.now()
    roles = user_roles(user, ar)
    reviewer = bool(roles & services.REVIEWER_ROLES)
    tasks = sel.request_tasks(ar)
    action_forms = []
    for name in sel.allowed_actions(ar, roles, has_tasks=bool(tasks)):
        if bound is not None and bound.action == name:
            form = bound
        else:
            form = ACTION_FORMS[name](initial={"expected_state": ar.state}, auto_id=f"{name}-%s")
        action_forms.append(form)
    task_rows = [_task_row(ar, task, user, paris_date(now), bound_task) for task in tasks]
    actionable = [row for row in task_rows if row["forms"]]
    if len(actionable) == 1:  # the one task the user may move (a holder's own): its panel is open
        actionable[0]["open"] = True
    if bound_task is not None and not any(
            bound_task[2] is f for row in task_rows for f in (*row["forms"], row["due_form"], row["assign_form"])
    ) and not error:
        error = _("Le formulaire contient des erreurs : corrigez-les et validez à nouveau.")
    if bound is not None and bound not in action_forms and not error:
        # The form sent is not offered at this stage: no form of the page holds its error summary.
        error = _("Le formulaire contient des erreurs : corrigez-les et validez à nouveau.")
    clock = request_clock(ar, now)
    if reviewer and assign_form is None:
        assign_form = AssignForm(initial={"assignee": ar.assignee_id}, candidates=sel.assignable_users(ar),
                                 auto_id="assign-%s")
    # The team is read once: the select shows these rows, and the "assign to me" button needs the user among them.
    can_assign_self = reviewer and any(c.pk == user.pk for c in assign_form.fields["assignee"].rows())
    if reviewer and message_form is None:
        message_form = MessageForm(auto_id="message-%s")
    # Experts: the team that owns the stage and the secretariat invite (workflow.expert_roles).
    can_invite = bool(roles & expert_roles(ar.state))
    if can_invite and expert_form is None:
        expert_form = ExpertInvitationForm(auto_id="expert-%s")
    thread = sel.thread(ar)
    events = sel.events_of(ar)
    names = sel.assignee_names(events)
    context = {
        "ar": ar, "error": error, "action_forms": action_forms, "message_form": message_form,
        "assign_form": assign_form, "thread": thread, "expert_form": expert_form,
        "experts": sel.expert_invitations(ar), "now": now, "can_invite": can_invite,
        "can_assign_self": can_assign_self,
        "followed": getattr(ar, "followed", False),
        "reviewer": reviewer, "read_only": not reviewer, "timeline": _timeline(clock),
        "clock": _current(ar, clock), "target": _target(clock),
        "history": [_event_row(e, names) for e in events], "questions": _open_question(ar, events),
        "route_label": Route(ar.route).label if ar.route in Route.values else ar.route,
        "opinion_label": CesreesOpinion(ar.cesrees_opinion).label if ar.cesrees_opinion in CesreesOpinion.values else "",
        "badge_labels": BADGE_LABELS, "status_labels": STATUS_LABELS, "section": "queue",
        "task_rows": task_rows, "task_badge_labels": TASK_BADGE_LABELS,
    }
    response = render(request, "backoffice/detail.html", context, status=status)
    if mark_read and thread:
        # The messages the page shows are read now (receipts, for the applicant's side to see).
        services.mark_read(request_id=ar.pk, actor=user, acting_as=services.REVIEWER_ROLES,
                           message_ids=[row.message.pk for row in thread])
    return response


def _task_row(ar, task, user, today: dt.date, bound_task) -> dict:
    """A holder task as the request's page shows it, with the forms ``user`` may post on it."""
    bound_id, bound_kind, bound_form = bound_task if bound_task is not None else (None, "", None)

    def form(kind: str, make):
        return bound_form if bound_id == task.pk and bound_kind == kind else make()

    forms = [form(name, lambda name=name: TASK_ACTION_FORMS[name](
        initial={"expected_state": task.state}, auto_id=f"task{task.pk}-{name}-%s"))
        for name in sel.task_actions(ar, task, user)]
    manage = sel.may_manage_task(task, user)
    due_form = assign_form = None
    if manage:
        due_form = form("due_date", lambda: TaskDueDateForm(initial={"due_date": task.due_date},
                                                            auto_id=f"task{task.pk}-due-%s"))
        assign_form = form("assign", lambda: AssignForm(initial={"assignee": task.assignee_id},
                                                        candidates=sel.task_assignees(task),
                                                        auto_id=f"task{task.pk}-assign-%s"))
    overdue = task.state != HolderTaskState.DELIVERED and task.due_date is not None and today > task.due_date
    return {"task": task, "forms": forms, "due_form": due_form, "assign_form": assign_form, "manage": manage,
            "overdue": overdue, "open": bound_id == task.pk}


def _reason_label(reason: str) -> str:
    return str(InformationReason(reason).label) if reason in InformationReason.values else reason


def _visit_row(visit) -> dict:
    """A stage visit as the page shows it: the clock's facts (delays.clock.VisitClock), labelled."""
    return {
        "stage": _stage_label(visit.stage), "code": visit.stage, "pause": visit.is_pause,
        "start": visit.entered_at, "end": visit.left_at,
        "days": visit.days, "due_date": visit.due_date, "extended": visit.extended, "urgent": visit.urgent,
        "overdue": visit.overdue, "open": visit.is_open, "tacit_decision": visit.tacit_decision,
        "tacit_label": visit.tacit_label, "tacit_effect_date": visit.tacit_effect_date,
        "projected": visit.projected, "reason": visit.reason, "reason_label": _reason_label(visit.reason),
        "paused_days": visit.paused_days,
    }


def _timeline(clock) -> list[dict]:
    """Each stage visit in the order it happened, the waits on the applicant as rows between the
    visits they interrupted: when, how long, its statutory due date, tacit decision, reason."""
    if clock is None:
        return []
    return [_visit_row(v) for v in clock.visits]


def _current(ar, clock) -> dict | None:
    """The current stage's clock: days in stage, due date, badge, tacit decision (projected or not)."""
    visit = clock.current_visit if clock is not None else None
    if visit is None:
        return None
    badge = "paused" if ar.state == State.AWAITING_APPLICANT else sel.badge_of(visit.due_date, clock.today)
    return {
        **_visit_row(visit), "since": visit.entered_at, "badge": badge,
        "days_left": (visit.due_date - clock.today).days if visit.due_date else None,
        "paused_from": _state_label(ar.paused_from) if ar.paused_from else "",
    }


def _target(clock) -> dict | None:
    """The 7-month target: deadline, elapsed time split applicant/institution, status, forecast."""
    if clock is None:
        return None
    stage_days = [{"stage": _stage_label(stage), "days": days} for stage, days in clock.time_by_stage() if days > 0]
    return {
        "deadline": clock.deadline, "elapsed": clock.elapsed_days, "applicant": clock.applicant_days,
        "institution": clock.elapsed_days - clock.applicant_days, "status": clock.status,
        "forecast_at": clock.forecast_at if clock.forecast_known else None, "requires_matching": clock.requires_matching,
        "forecast_known": clock.forecast_known,
        "submitted_at": clock.submitted_at, "delivered_at": clock.delivered_at, "stage_days": stage_days,
        "days_left": (clock.deadline - clock.today).days, "computed_at": clock.computed_at, "open": clock.is_open,
    }


def _event_row(event, assignee_names: dict) -> dict:
    label = str(EventAction(event.action).label) if event.action in EventAction.values else event.action
    payload = event.payload or {}
    details = []
    if event.action == EventAction.ASSIGN:
        details.append(_("Attribuée à %(name)s") % {"name": assignee_names.get(payload.get("assignee"), _("personne"))})
    if event.action == EventAction.INVITE_EXPERT:
        try:
            until = date_format(timezone.localtime(dt.datetime.fromisoformat(payload.get("expires_at", ""))),
                                "DATETIME_FORMAT")
        except ValueError:
            until = payload.get("expires_at", "")
        details.append(_("Expert : %(email)s, jusqu'au %(date)s") % {"email": payload.get("email", ""), "date": until})
    if event.action == EventAction.REVOKE_EXPERT:
        details.append(_("Expert : %(email)s") % {"email": payload.get("email", "")})
    if payload.get("opinion"):
        opinion = payload["opinion"]
        details.append(_("Avis : %(opinion)s") % {
            "opinion": CesreesOpinion(opinion).label if opinion in CesreesOpinion.values else opinion})
    if payload.get("decision_number"):
        try:
            when = date_format(dt.date.fromisoformat(payload.get("decision_date", "")), "DATE_FORMAT")
        except ValueError:
            when = payload.get("decision_date", "")
        details.append(_("Décision n° %(number)s du %(date)s") % {"number": payload["decision_number"], "date": when})
    actor = event.actor
    return {
        "at": event.at, "label": label, "from": _state_label(event.from_state) if event.from_state else "",
        "to": _state_label(event.to_state), "moved": event.from_state != event.to_state,
        "actor": display_name(actor) if actor else _("Système ou reprise d'historique"),
        "role": Role(event.role).label if event.role in Role.values else event.role,
        "comment": event.comment, "details": details, "action": event.action,
    }


def _open_question(ar, events) -> str:
    """The question the applicant is answering, while the request waits on them."""
    if ar.state != State.AWAITING_APPLICANT:
        return ""
    for event in reversed(events):
        if event.action == "request_information":
            return event.comment
    return ""


@require_POST
@backoffice_required
@once_per_form
def act(request, reference: str, action: str):
    ar = _load(request, reference)
    form_class = ACTION_FORMS.get(action)
    if form_class is None:
        raise Http404(_("Action inconnue."))
    form = form_class(request.POST, auto_id=f"{action}-%s")
    if not form.is_valid():
        if "expected_state" in form.errors:
            return _render_detail(request, ar, status=400, error=_(
                "Le formulaire est incomplet ou a été modifié : rechargez la page et recommencez."))
        # The form's error summary says what to correct (templates/_error_summary.html).
        return _render_detail(request, ar, status=400, bound=form)
    form.perform(request_id=ar.pk, actor=request.user)
    messages.success(request, _("%(action)s : c'est enregistré pour la demande %(reference)s.") % {
        "action": form.title, "reference": ar.reference})
    return _see_other(reverse("backoffice:detail", args=[ar.reference]))


def _see_other(url: str) -> HttpResponse:
    response = HttpResponse(status=303)
    response["Location"] = url
    return response


def _reviewer_or_403(request, ar):
    """The page's error (403) for someone who may read the request but not act on it (management)."""
    if user_roles(request.user, ar) & services.REVIEWER_ROLES:
        return None
    return _render_detail(request, ar, status=403, error=_(
        "Votre rôle ne permet pas cette action sur la demande %(reference)s.") % {"reference": ar.reference})


@require_POST
@backoffice_required
@once_per_form
def post_message(request, reference: str):
    """A message to the applicant's team, or an internal note, with its documents."""
    ar = _load(request, reference)
    refused = _reviewer_or_403(request, ar)
    if refused is not None:
        return refused
    form = MessageForm(request.POST, request.FILES, auto_id="message-%s")
    if not form.is_valid():
        return _render_detail(request, ar, status=400, message_form=form)
    message = services.post_message(request_id=ar.pk, actor=request.user, body=form.cleaned_data["body"],
                                    internal=form.cleaned_data["internal"], uploads=form.cleaned_data["documents"],
                                    acting_as=services.REVIEWER_ROLES)
    sent = _("Note interne ajoutée.") if message.internal else _("Message envoyé au demandeur.")
    if any(a.scan_status == ScanStatus.PENDING for a in message.attachments.all()):
        sent = _("%(sent)s Ses pièces jointes sont en cours d'analyse antivirus.") % {"sent": sent}
    messages.success(request, sent)
    return _see_other(reverse("backoffice:detail", args=[ar.reference]) + "#messages")


@require_POST
@backoffice_required
@once_per_form
def invite_expert(request, reference: str):
    ar = _load(request, reference)
    refused = _reviewer_or_403(request, ar)
    if refused is not None:
        return refused
    form = ExpertInvitationForm(request.POST, auto_id="expert-%s")
    if not form.is_valid():
        return _render_detail(request, ar, status=400, expert_form=form)
    invited = services.invite_expert(request_id=ar.pk, actor=request.user, email=form.cleaned_data["email"],
                                     acting_as=services.REVIEWER_ROLES)
    messages.success(request, _("Invitation envoyée à %(email)s : le dossier lui est ouvert en lecture seule jusqu'au "
                                "%(date)s.") % {"email": invited.invitation.email, "date": date_format(
                                    timezone.localtime(invited.invitation.expires_at), "DATETIME_FORMAT")})
    return _see_other(reverse("backoffice:detail", args=[ar.reference]) + "#experts")


@require_POST
@backoffice_required
@once_per_form
def revoke_expert(request, reference: str, invitation_id: int):
    ar = _load(request, reference)
    refused = _reviewer_or_403(request, ar)
    if refused is not None:
        return refused
    invitation = next((i for i in sel.expert_invitations(ar) if i.pk == invitation_id), None)
    if invitation is None:
        raise Http404(_("Invitation introuvable."))
    services.revoke_expert_invitation(invitation_id=invitation.pk, actor=request.user,
                                      acting_as=services.REVIEWER_ROLES)
    messages.success(request, _("L'accès de %(email)s au dossier est révoqué.") % {"email": invitation.email})
    return _see_other(reverse("backoffice:detail", args=[ar.reference]) + "#experts")


@require_POST
@backoffice_required
@once_per_form
def assign(request, reference: str):
    ar = _load(request, reference)
    refused = _reviewer_or_403(request, ar)
    if refused is not None:
        return refused
    form = AssignForm(request.POST, candidates=sel.assignable_users(ar), auto_id="assign-%s")
    if not form.is_valid():
        return _render_detail(request, ar, status=400, assign_form=form)
    assignee = form.cleaned_data["assignee"]
    services.assign(request_id=ar.pk, actor=request.user, assignee=assignee)
    if assignee is None:
        messages.success(request, _("La demande n'est plus attribuée."))
    else:
        messages.success(request, _("Demande attribuée à %(name)s.") % {"name": display_name(assignee)})
    return _see_other(reverse("backoffice:detail", args=[ar.reference]))


@require_POST
@backoffice_required
@once_per_form
def follow(request, reference: str, following: bool):
    """Follow the request (an email for each event on it made by someone else), or stop."""
    ar = _load(request, reference)
    if following:
        services.follow(request_id=ar.pk, actor=request.user)
        messages.success(request, _("Vous suivez la demande %(reference)s : vous recevrez un courriel à chacune "
                                    "de ses étapes.") % {"reference": ar.reference})
    else:
        services.unfollow(request_id=ar.pk, actor=request.user)
        messages.success(request, _("Vous ne suivez plus la demande %(reference)s.") % {"reference": ar.reference})
    return _see_other(reverse("backoffice:detail", args=[ar.reference]))


# --- a data holder's task on a request ------------------------------------------------------------
def _task(ar, task_id: int):
    task = sel.task_of(ar, task_id)
    if task is None:
        raise Http404(_("Tâche introuvable."))
    return task


def _task_done(request, ar, message: str) -> HttpResponse:
    messages.success(request, message)
    return _see_other(reverse("backoffice:detail", args=[ar.reference]) + "#taches")


@require_POST
@backoffice_required
@once_per_form
def act_on_task(request, reference: str, task_id: int, action: str):
    ar = _load(request, reference)
    task = _task(ar, task_id)
    form_class = TASK_ACTION_FORMS.get(action)
    if form_class is None:
        raise Http404(_("Action inconnue."))
    form = form_class(request.POST, auto_id=f"task{task.pk}-{action}-%s")
    if not form.is_valid():
        if "expected_state" in form.errors:
            return _render_detail(request, ar, status=400, error=_(
                "Le formulaire est incomplet ou a été modifié : rechargez la page et recommencez."))
        return _render_detail(request, ar, status=400, bound_task=(task.pk, action, form))
    form.perform(task_id=task.pk, actor=request.user)
    return _task_done(request, ar, _("%(action)s : c'est enregistré pour %(holder)s (demande %(reference)s).") % {
        "action": form.title, "holder": task.holder.name, "reference": ar.reference})


@require_POST
@backoffice_required
@once_per_form
def set_task_due_date(request, reference: str, task_id: int):
    ar = _load(request, reference)
    task = _task(ar, task_id)
    form = TaskDueDateForm(request.POST, auto_id=f"task{task.pk}-due-%s")
    if not form.is_valid():
        return _render_detail(request, ar, status=400, bound_task=(task.pk, "due_date", form))
    services.set_task_due_date(task_id=task.pk, actor=request.user, due_date=form.cleaned_data["due_date"],
                               comment=form.cleaned_data["comment"], acting_as=services.REVIEWER_ROLES)
    return _task_done(request, ar, _("Échéance de %(holder)s : %(date)s.") % {
        "holder": task.holder.name, "date": date_format(form.cleaned_data["due_date"], "DATE_FORMAT")})


@require_POST
@backoffice_required
@once_per_form
def assign_task(request, reference: str, task_id: int):
    ar = _load(request, reference)
    task = _task(ar, task_id)
    form = AssignForm(request.POST, candidates=sel.task_assignees(task), auto_id=f"task{task.pk}-assign-%s")
    if not form.is_valid():
        return _render_detail(request, ar, status=400, bound_task=(task.pk, "assign", form))
    assignee = form.cleaned_data["assignee"]
    services.assign_task(task_id=task.pk, actor=request.user, assignee=assignee, acting_as=services.REVIEWER_ROLES)
    if assignee is None:
        return _task_done(request, ar, _("La tâche de %(holder)s n'est plus attribuée.") % {"holder": task.holder.name})
    return _task_done(request, ar, _("Tâche de %(holder)s attribuée à %(name)s.") % {
        "holder": task.holder.name, "name": display_name(assignee)})


@require_GET
@backoffice_required
def attachment(request, attachment_id: int):
    """A dossier's document, for reviewers who may read the request."""
    item = (Attachment.objects.filter(pk=attachment_id, request__in=sel.visible_requests(request.user))
            .select_related("request").first())
    if item is None:
        raise Http404(_("Pièce introuvable."))
    return documents.attachment(item)  # quarantined or infected: a 409 page saying why


# --- the dossier's documents (documents/) ------------------------------------------------------
def _visible(request, reference: str):
    ar = sel.visible_requests(request.user).filter(reference=reference).first()
    if ar is None:
        raise Http404(_("Demande introuvable."))
    return ar


@never_cache
@require_GET
@backoffice_required
def receipt(request, reference: str):
    return documents.receipt(_visible(request, reference), language=get_language())


@never_cache
@require_GET
@backoffice_required
def dossier_pdf(request, reference: str):
    return documents.dossier_pdf(_visible(request, reference), language=get_language())


@never_cache
@require_GET
@backoffice_required
def dossier_zip(request, reference: str):
    return documents.dossier_zip(_visible(request, reference), language=get_language())


# --- delay dashboard ----------------------------------------------------------------------------
def _dashboard(request, *, list_limit):
    form = DashboardFilterForm(request.GET or None)
    data = form.cleaned_data if form.is_bound and form.is_valid() else {}
    holder = None if sel.sees_every_request(request.user) else (sel.holder_of(request.user) or -1)
    filters = DashboardFilters(
        submitted_from=data.get("submitted_from"), submitted_to=data.get("submitted_to"),
        dataset_id=data["dataset"].pk if data.get("dataset") else None, holder_id=holder,
    )
    # Recomputing costs about 0.3 s at 100,000 requests: only management and administrators may force it.
    may_refresh = request.user.is_superuser or sel.staff_roles(request.user) == {Role.MANAGEMENT}
    return form, cached_dashboard(filters, list_limit=list_limit,
                                  refresh=may_refresh and request.GET.get("refresh") == "1")


STAGE_ORDER = (State.SUBMITTED, State.CESREES_REVIEW, State.CNIL_REVIEW, State.CONTRACTING, State.MATCHING,
               State.EXTRACTION, State.AWAITING_APPLICANT)


@require_GET
@backoffice_required
@replica_reads
def delays(request):
    form, data = _dashboard(request, list_limit=25)
    months = data["target_months"]
    stages = [{"code": s, "label": _state_label(s), **data["stages"][s]} for s in STAGE_ORDER]
    segment_labels = {"late": _("Objectif dépassé"), "at_risk": _("À risque"), "on_track": _("Dans les temps"),
                      "other": _("Hors population cible (sans appariement)")}
    current = [{"label": _state_label(row["stage"]), **row} for row in data["current_stages"]]
    submission = [{"label": exports.quarter_label(q["quarter"]), **q} for q in data["submission_quarters"]]
    # The headline figure per delivery quarter (delays.statistics.headline_by_quarter): every quarter,
    # share_met None when nothing was delivered ("aucune livraison"), 0.0 when all were late.
    headline = [{"label": exports.quarter_label(q["quarter"]), **q} for q in data["headline_quarters"]]
    delivery = [{"label": exports.quarter_label(q["quarter"]), **q,
                 "mean_access_months": in_months(q["mean_access_days"], None),
                 "mean_institution_months": in_months(q["mean_institution_days"], None)}
                for q in data["delivery_quarters"]]
    charts = {
        "stages": {
            "labels": [s["label"] for s in stages],
            "median": [s["median_days"] for s in stages], "p90": [s["p90_days"] for s in stages],
            "bottleneck": data["summary"]["bottleneck_stage"],
            "codes": [s["code"] for s in stages],
        },
        "shares": {"labels": [q["label"] for q in headline],
                   "share": [round(q["share_met"] * 100, 1) if q["share_met"] is not None else None for q in headline],
                   "delivered": [q["delivered"] for q in headline]},
        "access": {"labels": [q["label"] for q in delivery],
                   "mean": [round(q["mean_access_months"], 2) if q["mean_access_months"] is not None else None for q in delivery],
                   "institution": [round(q["mean_institution_months"], 2) if q["mean_institution_months"] is not None else None for q in delivery],
                   "target": months},
        "current": {"labels": [c["label"] for c in current],
                    "series": [{"key": seg, "label": str(segment_labels[seg]), "data": [c[seg] for c in current]}
                               for seg in SEGMENTS]},
        "text": {
            "median": _("Médiane (jours)"), "p90": _("90e centile (jours)"), "days": _("jours"),
            "share": _("Part livrée dans les %(months)s mois, hors temps du demandeur (%%)") % {"months": months},
            "mean": _("Délai moyen d'accès (mois)"), "institution": _("Dont temps des institutions (mois)"),
            "target": _("Objectif : %(months)s mois") % {"months": months}, "months": _("mois"),
            "requests": _("demandes"),
        },
    }
    bottleneck = data["bottleneck"]
    summary = data["summary"]
    query = request.GET.copy()
    query.pop("refresh", None)
    return render(request, "backoffice/delays.html", {
        "form": form, "data": data, "summary": summary, "stages": stages, "current": current,
        "submission": submission, "delivery": delivery, "headline_quarters": headline, "charts": charts,
        "segment_labels": segment_labels,
        "bottleneck": bottleneck, "bottleneck_label": _state_label(bottleneck["stage"]) if bottleneck else "",
        "months": months,
        "mean_access_months": in_months(summary["mean_access_days"], None),
        "mean_institution_months": in_months(summary["mean_institution_days"], None),
        "median_access_months": in_months(summary["median_access_days"], None),
        "computed_at": dt.datetime.fromisoformat(data["computed_at"]),
        "forecasts_computed_at": dt.datetime.fromisoformat(data["forecasts_computed_at"]) if data["forecasts_computed_at"] else None,
        "late": [_listed_row(r) for r in data["late"]], "at_risk": [_listed_row(r) for r in data["at_risk"]],
        "holders": data["holders"], "bottleneck_holder": data["bottleneck_holder"],
        "query": query.urlencode(), "section": "delays", "cache_minutes": cache_seconds() // 60,
    })


def _listed_row(row: dict) -> dict:
    return {**row, "stage_label": _state_label(row["current_stage"]), "deadline_date": dt.date.fromisoformat(row["deadline"]),
            "forecast": dt.datetime.fromisoformat(row["forecast_at"]) if row["forecast_at"] else None}


@require_GET
@backoffice_required
@replica_reads
def delays_json(request):
    _form, data = _dashboard(request, list_limit=None)
    response = JsonResponse(data, json_dumps_params={"ensure_ascii": False, "indent": 2})
    response["Content-Disposition"] = f'attachment; filename="delais-{timezone.localdate().isoformat()}.json"'
    return response


@require_GET
@backoffice_required
@replica_reads
def delays_table(request, fmt: str):
    """Every figure of the dashboard in long form (table, category, measure, value), as CSV or XLSX."""
    form, data = _dashboard(request, list_limit=None)
    dataset = form.cleaned_data.get("dataset") if form.is_bound and form.is_valid() else None
    holder = sel.data_holder(request.user) if data["filters"]["holder_id"] is not None else None
    columns, rows = exports.dashboard_table(data, filter_names={
        "dataset_id": dataset.name if dataset else "", "holder_id": holder.name if holder else ""})
    return tabular.download(rows, columns, format=fmt, sheet_title=_("Délais"),
                            filename=_("delais-%(date)s") % {"date": exports.file_date()})


# --- organisations (secretariat) -----------------------------------------------------------------
def secretariat_required(view):
    """Back-office users without the secretariat's role (or an administrator's) get 403."""

    @wraps(view)
    @backoffice_required
    def wrapper(request, *args, **kwargs):
        if not account_services.manages_organisations(request.user):
            return render(request, "backoffice/forbidden.html", {"message": _(
                "La gestion des organisations est réservée au secrétariat du HDH.")}, status=403)
        return view(request, *args, **kwargs)

    return wrapper


def _organisations_page(request, *, merge_form: MergeOrganisationsForm | None = None, status: int = 200):
    paginator = Paginator(account_selectors.organisations_overview(), PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    return render(request, "backoffice/organisations.html", {
        "requests": list(account_selectors.pending_requests_to_join()), "page": page,
        "page_range": _page_range(page), "merge_form": merge_form or MergeOrganisationsForm(auto_id="merge-%s"),
        "section": "organisations",
    }, status=status)


@require_GET
@secretariat_required
def organisations(request):
    """Requests to join waiting for a decision, every organisation with its counts, the merge form."""
    return _organisations_page(request)


@require_POST
@secretariat_required
def decide_membership(request, membership_id: int, decision: str):
    if decision == "approve":
        membership = account_services.approve_membership(actor=request.user, membership_id=membership_id)
        messages.success(request, _("%(name)s a rejoint l'organisation « %(organisation)s ».") % {
            "name": display_name(membership.user, with_affiliation=False),
            "organisation": membership.organisation.name})
    else:
        membership = account_services.refuse_membership(actor=request.user, membership_id=membership_id)
        messages.success(request, _("La demande de %(name)s est refusée.") % {
            "name": display_name(membership.user, with_affiliation=False)})
    return _see_other(reverse("backoffice:organisations"))


@require_POST
@secretariat_required
def merge_organisations(request):
    form = MergeOrganisationsForm(request.POST, auto_id="merge-%s")
    if not form.is_valid():
        return _organisations_page(request, merge_form=form, status=400)
    source, target = form.cleaned_data["source"], form.cleaned_data["target"]
    source_name = source.name
    outcome = account_services.merge_organisations(actor=request.user, source=source, target=target)
    messages.success(request, _(
        "« %(source)s » est fusionnée dans « %(target)s » : %(members)d membre(s), %(requests)d demande(s) d'accès "
        "et %(memberships)d demande(s) de rattachement déplacés.") % {
        "source": source_name, "target": outcome.target.name, "members": outcome.members,
        "requests": outcome.requests, "memberships": outcome.memberships})
    return _see_other(reverse("backoffice:organisations"))


# --- the roadmap's records (secretariat) --------------------------------------------------------
def indicators_required(view):
    """Back-office users other than the secretariat and administrators get 403."""

    @wraps(view)
    @backoffice_required
    def wrapper(request, *args, **kwargs):
        if not delay_services.may_record_indicators(request.user):
            return render(request, "backoffice/forbidden.html", {"message": _(
                "Les partenariats et les échanges avec la société civile sont enregistrés par le secrétariat du HDH.")},
                status=403)
        return view(request, *args, **kwargs)

    return wrapper


def _records_page(request, *, partnership_form: PartnershipForm | None = None,
                  exchange_form: ExchangeForm | None = None, status: int = 200):
    return render(request, "backoffice/indicator_records.html", {
        "partnerships": sel.partnerships(), "exchanges": sel.civil_society_exchanges(),
        "partnership_form": partnership_form or PartnershipForm(auto_id="partnership-%s"),
        "exchange_form": exchange_form or ExchangeForm(auto_id="exchange-%s"),
        "section": "indicators",
    }, status=status)


@require_GET
@indicators_required
def indicator_records(request):
    """The partnerships with data infrastructures and the exchanges with civil society, to record."""
    return _records_page(request)


@require_POST
@indicators_required
@once_per_form
def record_partnership(request):
    form = PartnershipForm(request.POST, auto_id="partnership-%s")
    if not form.is_valid():
        return _records_page(request, partnership_form=form, status=400)
    row = delay_services.record_partnership(actor=request.user, **form.cleaned_data)
    messages.success(request, _("Partenariat « %(name)s » enregistré.") % {"name": row.name})
    return _see_other(reverse("backoffice:indicator_records") + "#partnerships")


@require_POST
@indicators_required
@once_per_form
def record_exchange(request):
    form = ExchangeForm(request.POST, auto_id="exchange-%s")
    if not form.is_valid():
        return _records_page(request, exchange_form=form, status=400)
    row = delay_services.record_exchange(actor=request.user, **form.cleaned_data)
    messages.success(request, _("Échange « %(title)s » enregistré.") % {"title": row.title})
    return _see_other(reverse("backoffice:indicator_records") + "#exchanges")


@require_POST
@indicators_required
@once_per_form
def delete_partnership(request, partnership_id: int):
    name = delay_services.delete_partnership(actor=request.user, partnership_id=partnership_id)
    messages.success(request, _("Partenariat « %(name)s » supprimé.") % {"name": name})
    return _see_other(reverse("backoffice:indicator_records") + "#partnerships")


@require_POST
@indicators_required
@once_per_form
def delete_exchange(request, exchange_id: int):
    title = delay_services.delete_exchange(actor=request.user, exchange_id=exchange_id)
    messages.success(request, _("Échange « %(title)s » supprimé.") % {"title": title})
    return _see_other(reverse("backoffice:indicator_records") + "#exchanges")
