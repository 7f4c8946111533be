"""Reads of the back office: who may open it, which requests a reviewer sees, the queues.

Visibility rules (which requests: ``access_requests.visibility.reviewer_side``, the rule the
portal, the API and the webhooks share):

* the back office is for users holding ``view_all_requests`` (management and every reviewer
  group) and superusers; an applicant gets 403;
* a member of a data holder who holds no other reviewer role sees only the requests that ask
  for the datasets of their own holder (``Profile.data_holder``); every other reviewer and
  management see every submitted request; drafts belong to the applicant and are never shown;
* a queue holds the requests whose current state is a stage the user's role owns
  (``workflow.QUEUE_ROLES``: the stage owners, and the platform team for a delivered request);
  management and superusers see every request in progress (submitted and not yet delivered);
* a data holder's staff (with no other role) queue their own holder's tasks instead
  (``holder_task_queue``): its open tasks, one row each, by due date; among requests, theirs
  in the queue are those where their holder's task is still open.

Every function returns querysets or plain data with their joins done here, so a list page runs
the same number of queries whatever the number of requests.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, cast

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.postgres.search import SearchConfig, SearchQuery, SearchQueryField, SearchVector
from django.db import connection
from django.db.models import BooleanField, Exists, F, Func, OuterRef, Prefetch, Q, QuerySet, TextField, Value
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone

from access_requests import selectors as request_selectors
from access_requests import services, visibility
from access_requests.models import AccessRequest, Attachment, Event, ExpertInvitation, Follow, HolderTask, Message
from access_requests.roles import (  # noqa: F401 - the back office's view of roles
    ROLE_PERMISSIONS,
    VIEW_PERMISSION,
    can_open_backoffice,
    holder_of,
    sees_every_request,
    staff_roles,
    task_roles,
)
from access_requests.selectors import event_log
from access_requests.visibility import concerns_holder
from access_requests.workflow import (
    PAUSABLE_STATES,
    QUEUE_ROLES,
    REVIEWER_ROLES,
    TASK_ACTIONS,
    TASK_ACTIVE_REQUEST_STATES,
    TASK_ROLES,
    TERMINAL_STATES,
    EventAction,
    HolderTaskState,
    InformationReason,
    Role,
    State,
    acting_roles,
    available_actions,
    available_task_actions,
)
from accounts.models import Profile
from accounts.people import PERSON_RELATIONS, attach_people, display_name, related
from backoffice.models import SavedFilter
from catalog.selectors import dataset_list
from delays.models import CivilSocietyExchange, Partnership
from hdh_access.lib.dates import add_working_days, paris_date, start_of_paris_day

ACTING_ROLES = (Role.SECRETARIAT, Role.CESREES, Role.CNIL, Role.DATA_HOLDER, Role.PLATFORM)
OPEN_STATES: tuple[str, ...] = tuple(
    s for s in State.values if s not in TERMINAL_STATES and s != State.DRAFT
)
# Open and not yet delivered: the delay clock still runs. What management's queue shows.
IN_PROGRESS_STATES: tuple[str, ...] = tuple(s for s in OPEN_STATES if s != State.DELIVERED)
# Stages with no legal clock still show their days; "due soon" is within this many working days.
DUE_SOON_WORKING_DAYS = 5
DataThrough = AccessRequest.datasets.through


# --- who the user is in the back office ---------------------------------------------------------
def data_holder(user):
    """The data holder whose staff ``user`` belongs to (``Profile.data_holder``), or None."""
    profile = getattr(user, "profile", None) if _has_profile(user) else None
    return profile.data_holder if profile else None


def _has_profile(user) -> bool:
    try:
        user.profile  # noqa: B018
    except (AttributeError, Profile.DoesNotExist):
        return False
    return True


def is_read_only(user) -> bool:
    """Management: reads everything, acts on nothing."""
    roles = staff_roles(user)
    return not (roles & {*ACTING_ROLES, Role.ADMINISTRATOR})


def queue_states(user) -> tuple[str, ...] | None:
    """The states of the requests waiting on ``user``'s roles; None: every open request."""
    roles = staff_roles(user)
    if Role.ADMINISTRATOR in roles or not (roles & set(ACTING_ROLES)):
        return None
    states = [state for state, owners in QUEUE_ROLES.items() if owners & roles]
    return tuple(s for s in OPEN_STATES if s in states)


def visible_requests(user) -> QuerySet[AccessRequest]:
    """Every submitted request ``user`` may read in the back office (never a draft; the rule:
    ``access_requests.visibility.reviewer_side``)."""
    return visibility.reviewer_side(user)


DATA_HOLDER_STATES: tuple[str, ...] = tuple(state for state, owners in QUEUE_ROLES.items() if Role.DATA_HOLDER in owners)


def queue_condition(user) -> Q:
    """The requests waiting on ``user``: states owned by their roles (data holders: their datasets)."""
    states = queue_states(user)
    if states is None:
        return Q(state__in=IN_PROGRESS_STATES)
    roles = staff_roles(user)
    others = roles - {Role.DATA_HOLDER, Role.MANAGEMENT}
    other_states = [s for s, owners in QUEUE_ROLES.items() if owners & others]
    condition = Q(state__in=other_states) if other_states else Q(pk__in=[])
    if Role.DATA_HOLDER in roles:
        holder = holder_of(user)
        if holder is not None:
            condition |= Q(state__in=DATA_HOLDER_STATES) & Q(_open_task_of(holder))
    return condition


def _open_task_of(holder: int) -> Exists:
    """The request has a task of ``holder`` not yet delivered (its part still waits on the holder)."""
    return Exists(HolderTask.objects.filter(request_id=OuterRef("pk"), holder_id=holder)
                  .exclude(state=HolderTaskState.DELIVERED))


def paused_condition(user) -> Q:
    """Requests waiting on the applicant, paused from a stage the user owns."""
    states = queue_states(user)
    condition = Q(state=State.AWAITING_APPLICANT)
    if states is None:
        return condition
    paused_from = [s for s in states if s in PAUSABLE_STATES]
    return condition & Q(paused_from__in=paused_from)


# --- the queue ---------------------------------------------------------------------------------
class Scope:
    QUEUE = "queue"
    PAUSED = "paused"
    OPEN = "open"
    ALL = "all"  # every request but the archived ones
    ARCHIVED = "archived"
    FOLLOWED = "followed"  # the requests the user follows (but the archived ones)


def archived_condition(now: dt.datetime | None = None) -> Q:
    """Closed, rejected or withdrawn requests whose last event is older than
    ``HDH_ARCHIVE_AFTER_DAYS``: computed from the state and the last event date (the delay row's
    ``last_event_at``, else the request's last change), no stored flag."""
    limit = (now or timezone.now()) - dt.timedelta(days=settings.HDH_ARCHIVE_AFTER_DAYS)
    return Q(state__in=TERMINAL_STATES) & Q(archive_since__lt=limit)


class Badge:
    OVERDUE = "overdue"
    DUE_SOON = "due_soon"
    ON_TIME = "on_time"
    NO_CLOCK = "no_clock"


@dataclass(frozen=True)
class QueueFilters:
    """Validated filters of a queue (see forms.backoffice.QueueFilterForm)."""

    scope: str = Scope.QUEUE
    q: str = ""
    state: str = ""
    route: str = ""
    dataset_id: int | None = None
    holder_id: int | None = None
    badge: str = ""
    status: str = ""
    assignee: str = ""  # "me", "none" or ""
    submitted_from: dt.date | None = None
    submitted_to: dt.date | None = None
    sort: str = "due"


SORTS = {
    "due": (F("due_date").asc(nulls_last=True), F("stage_since").asc(nulls_last=True), "pk"),
    "waiting": (F("stage_since").asc(nulls_last=True), "pk"),
    "submitted": (F("submitted_at").asc(nulls_last=True), "pk"),
    "reference": ("reference",),
}


def due_soon_limit(today: dt.date) -> dt.date:
    return add_working_days(today, DUE_SOON_WORKING_DAYS)


def badge_of(due_date: dt.date | None, today: dt.date) -> str:
    if due_date is None:
        return Badge.NO_CLOCK
    if today > due_date:
        return Badge.OVERDUE
    if due_date <= due_soon_limit(today):
        return Badge.DUE_SOON
    return Badge.ON_TIME


# What the reviewers' search reads: the dossier, its organisation and its people.
SEARCH_FIELDS = (
    "reference", "title", "organisation__name",
    "applicant__first_name", "applicant__last_name", "applicant__email",
    "assignee__first_name", "assignee__last_name",
)
SEARCH_CONFIG = "french"
MAX_SEARCH_LENGTH = 200


def search(queryset: QuerySet[AccessRequest], text: str, *, full_text: bool | None = None) -> QuerySet[AccessRequest]:
    """The requests of ``queryset`` that ``text`` finds, in one query.

    A reference starting with the text always matches. On PostgreSQL (``full_text`` None: the
    database decides), a full-text search with the French configuration over ``SEARCH_FIELDS``
    (stems: "cancers" finds "cancer"); the text is read as a web search (``websearch_to_tsquery``:
    quotes, ``or`` and ``-``; any other punctuation is a separator, never a syntax error).
    Elsewhere (``full_text=False``, SQLite), a case-insensitive part of any of the same fields.
    """
    term = " ".join(text.split())[:MAX_SEARCH_LENGTH]
    if not term:
        return queryset
    if full_text is None:
        full_text = connection.vendor == "postgresql"
    by_reference = Q(reference__istartswith=term)
    if not full_text:
        plain = Q()
        for name in SEARCH_FIELDS:
            plain |= Q(**{f"{name}__icontains": term})
        return queryset.filter(by_reference | plain)
    document = SearchVector(*SEARCH_FIELDS, config=SEARCH_CONFIG)
    query = SearchQuery(term, config=SEARCH_CONFIG, search_type="websearch")
    return queryset.alias(search_matches=_Matches(document, _EitherStem(query, _Restemmed(query)))).filter(
        by_reference | Q(search_matches=True))


class _Restemmed(Func):
    """The query's lexemes stemmed once more: the French stemmer takes "cancers" to "cancer" but
    "cancer" to "canc", so a query also matches its stem's stem (to_tsquery re-reads the text of
    a query, its lexemes quoted: punctuation is no syntax there)."""

    function = "to_tsquery"
    output_field = SearchQueryField()

    def __init__(self, query: SearchQuery) -> None:
        super().__init__(SearchConfig(SEARCH_CONFIG), Cast(query, TextField()))


class _EitherStem(Func):
    template = "(%(expressions)s)"
    arg_joiner = " || "
    output_field = SearchQueryField()


class _Matches(Func):
    template = "(%(expressions)s)"
    arg_joiner = " @@ "
    output_field = BooleanField()


def _followed_by(user) -> Exists:
    return Exists(Follow.objects.filter(request_id=OuterRef("pk"), user_id=user.pk))


def shared_filters(filters: QueueFilters, user, today: dt.date, *, request: str = "") -> Q:
    """The filters both queues apply (route, dataset, due-date badge, target status, assignee,
    submission dates), as one condition: on requests, or through ``request="request__"`` on
    holder tasks (whose own due date and assignee the badge and the assignee filter read)."""
    condition = Q()
    if filters.route:
        condition &= Q(**{f"{request}route": filters.route})
    if filters.dataset_id:
        condition &= Q(Exists(DataThrough.objects.filter(accessrequest_id=OuterRef(f"{request}pk"),
                                                         dataset_id=filters.dataset_id)))
    if filters.badge:
        limit = due_soon_limit(today)
        condition &= {
            Badge.OVERDUE: Q(due_date__lt=today),
            Badge.DUE_SOON: Q(due_date__gte=today, due_date__lte=limit),
            Badge.ON_TIME: Q(due_date__gt=limit),
            Badge.NO_CLOCK: Q(due_date__isnull=True),
        }[filters.badge]
    if filters.status:
        condition &= Q(**{f"{request}delay__status": filters.status})
    if filters.assignee == "me":
        condition &= Q(assignee=user)
    elif filters.assignee == "none":
        condition &= Q(assignee__isnull=True)
    if filters.submitted_from:
        condition &= Q(**{f"{request}delay__submitted_at__gte": start_of_paris_day(filters.submitted_from)})
    if filters.submitted_to:
        condition &= Q(**{f"{request}delay__submitted_at__lt":
                          start_of_paris_day(filters.submitted_to + dt.timedelta(days=1))})
    return condition


def queue(user, filters: QueueFilters, *, today: dt.date | None = None) -> QuerySet[AccessRequest]:
    """The filtered, sorted requests of a queue, with what a row shows joined in."""
    today = today or timezone.localdate()
    qs: QuerySet[AccessRequest] = visible_requests(user).alias(archive_since=Coalesce("delay__last_event_at", "updated_at"))
    if filters.scope == Scope.ARCHIVED:
        qs = qs.filter(archived_condition())
    elif filters.scope in {Scope.ALL, Scope.FOLLOWED}:
        # Only these hold closed, rejected or withdrawn requests: the queue, paused and open scopes
        # hold states in progress only, and leaving the condition out there lets PostgreSQL count
        # them without joining the delay rows (the management queue's count at 100,000: 72 → a few ms).
        qs = qs.exclude(archived_condition())
    if filters.scope == Scope.QUEUE:
        qs = qs.filter(queue_condition(user))
    elif filters.scope == Scope.PAUSED:
        qs = qs.filter(paused_condition(user))
    elif filters.scope == Scope.OPEN:
        qs = qs.filter(state__in=IN_PROGRESS_STATES)
    elif filters.scope == Scope.FOLLOWED:
        qs = qs.filter(_followed_by(user))
    qs = qs.annotate(
        due_date=F("delay__current_due_date"),
        stage_since=F("delay__current_since"),
        submitted_at=F("delay__submitted_at"),
        target_deadline=F("delay__deadline"),
        target_status=Coalesce(F("delay__status"), Value("")),
        forecast_at=F("delay__forecast_at"),
        requires_matching_row=F("delay__requires_matching"),
    )
    if filters.q:
        qs = search(qs, filters.q)
    if filters.state:
        qs = qs.filter(state=filters.state)
    qs = qs.filter(shared_filters(filters, user, today))
    if filters.holder_id:
        qs = qs.filter(concerns_holder(filters.holder_id))
    # The assignees are read with the page's rows (queue_page_rows), not joined here.
    return qs.select_related("organisation").order_by(*SORTS.get(filters.sort, SORTS["due"]))


def queue_page_rows(requests: Iterable[AccessRequest], *, now: dt.datetime | None = None) -> list[dict]:
    """What each row of a queue shows; the requests' datasets and assignees are read here, one
    query each."""
    now = now or timezone.now()
    today = paris_date(now)
    requests = list(requests)
    attach_people(requests, "assignee")
    datasets = _datasets_of(r.pk for r in requests)
    rows = []
    for r in requests:
        r = cast(Any, r)  # annotated by queue(): stage_since, due_date, target columns
        days = (now - r.stage_since).total_seconds() / 86400 if r.stage_since else None
        rows.append({
            "request": r,
            "datasets": sorted(name for _holder, name in datasets.get(r.pk, ())),
            "days_in_stage": days,
            "whole_days": int(days) if days is not None else None,
            "badge": badge_of(r.due_date, today) if r.state != State.AWAITING_APPLICANT else "paused",
        })
    return rows


# --- a data holder's queue: its open tasks ---------------------------------------------------------
def sees_holder_tasks(user) -> bool:
    """A data holder's staff with no other back-office role: their queue lists their holder's tasks."""
    return Role.DATA_HOLDER in staff_roles(user) and not sees_every_request(user) and holder_of(user) is not None


TASK_SORTS = {
    "due": (F("due_date").asc(nulls_last=True), F("entered_at").asc(), "pk"),
    "waiting": (F("entered_at").asc(), "pk"),
    "submitted": (F("request__delay__submitted_at").asc(nulls_last=True), "pk"),
    "reference": ("request__reference", "pk"),
}


def holder_task_queue(user, filters: QueueFilters, *, today: dt.date | None = None) -> QuerySet[HolderTask]:
    """The open tasks of ``user``'s data holder (not delivered, their request neither ended nor
    archived), filtered and sorted (by due date, the ones without last), with what a row shows."""
    today = today or timezone.localdate()
    holder = holder_of(user)
    if holder is None or not can_open_backoffice(user):
        return HolderTask.objects.none()
    qs = (HolderTask.objects.filter(holder_id=holder).exclude(state=HolderTaskState.DELIVERED)
          .exclude(request__state__in=TERMINAL_STATES))
    if filters.q:
        qs = qs.filter(request__in=search(AccessRequest.objects.all(), filters.q).values("pk"))
    if filters.state == State.AWAITING_APPLICANT:
        qs = qs.filter(request__state=State.AWAITING_APPLICANT)
    elif filters.state:
        qs = qs.filter(state=filters.state)
    qs = qs.filter(shared_filters(filters, user, today, request="request__"))
    # The assignees are read with the page's rows (task_queue_rows), not joined here.
    return qs.select_related("request", "request__organisation", "holder").order_by(
        *TASK_SORTS.get(filters.sort, TASK_SORTS["due"]))


def task_queue_rows(tasks: Iterable[HolderTask], *, now: dt.datetime | None = None) -> list[dict]:
    """What each row of a data holder's queue shows; the requests' datasets (the task's holder's)
    and the assignees are read here, one query each."""
    now = now or timezone.now()
    today = paris_date(now)
    tasks = list(tasks)
    attach_people(tasks, "assignee")
    datasets = _datasets_of(task.request_id for task in tasks)
    rows = []
    for task in tasks:
        days = (now - task.entered_at).total_seconds() / 86400
        paused = task.request.state == State.AWAITING_APPLICANT
        rows.append({
            "task": task, "request": task.request,
            "datasets": sorted(name for holder, name in datasets.get(task.request_id, ()) if holder == task.holder_id),
            "days_in_stage": days, "whole_days": int(days),
            "badge": "paused" if paused else badge_of(task.due_date, today),
            "overdue": task.due_date is not None and today > task.due_date,
        })
    return rows


def request_tasks(request: AccessRequest) -> list[HolderTask]:
    """The holder tasks of one request, by holder name, with what the request's page shows."""
    return list(HolderTask.objects.filter(request_id=request.pk)
                .select_related("holder", "assignee", *related("assignee")).order_by("holder__name", "pk"))


def task_of(request: AccessRequest, task_id: int) -> HolderTask | None:
    """One task of ``request`` (which the caller may read), or None."""
    return HolderTask.objects.filter(request_id=request.pk, pk=task_id).select_related("holder").first()


def task_actions(request: AccessRequest, task: HolderTask, user) -> list[str]:
    """The task actions ``user`` may take on ``task`` now (a holder's staff: on their own holder's
    tasks only), under the reviewer roles the back office acts in; the services check again."""
    if request.state not in TASK_ACTIVE_REQUEST_STATES:
        return []
    roles = task_roles(user, task) & REVIEWER_ROLES
    return available_task_actions(task.state, roles, requires_matching=task.requires_matching)


def may_manage_task(task: HolderTask, user) -> bool:
    """Whether ``user`` may set the task's due date and assignee (its holder's staff, the
    secretariat, the platform team), while it is open."""
    return task.state != HolderTaskState.DELIVERED and bool(task_roles(user, task) & TASK_ROLES)


def task_assignees(task: HolderTask):
    """Who a task may be given to: its holder's staff, the secretariat and the platform team."""
    User = get_user_model()

    def holding(codenames: list[str]) -> Q:
        return Q(groups__permissions__codename__in=codenames) | Q(user_permissions__codename__in=codenames)

    staff = holding([ROLE_PERMISSIONS[Role.DATA_HOLDER]]) & Q(profile__data_holder_id=task.holder_id)
    others = holding([ROLE_PERMISSIONS[r] for r in TASK_ROLES - {Role.DATA_HOLDER}])
    ids = User.objects.filter(is_active=True).filter(staff | others).values("pk")
    extra = [task.assignee_id] if task.assignee_id else []
    return (User.objects.filter(Q(pk__in=ids) | Q(pk__in=extra)).select_related(*PERSON_RELATIONS)
            .order_by("last_name", "first_name", "email"))


def _datasets_of(request_ids: Iterable[int]) -> dict[int, list[tuple[int, str]]]:
    """The datasets of each request, as (holder id, catalogue name): what a queue's rows show (the
    catalogue's names, never its codes), in one query and without a model object per dataset."""
    out: dict[int, list[tuple[int, str]]] = {}
    for pk, holder, name in DataThrough.objects.filter(accessrequest_id__in=set(request_ids)).values_list(
            "accessrequest_id", "dataset__holder_id", "dataset__name"):
        out.setdefault(pk, []).append((holder, name))
    return out


def dataset_names(requests: QuerySet[AccessRequest]) -> dict[int, list[str]]:
    """The catalogue names of the datasets of every request of ``requests``, in one query (exports)."""
    out: dict[int, list[str]] = {}
    shared: dict[str, str] = {}  # one string per dataset, however many requests name it
    rows = (DataThrough.objects.filter(accessrequest_id__in=requests.order_by().values("pk"))
            .order_by("accessrequest_id", "dataset__name").values_list("accessrequest_id", "dataset__name"))
    for pk, name in rows.iterator(chunk_size=10000):
        out.setdefault(pk, []).append(shared.setdefault(name, name))
    return out


# --- one request --------------------------------------------------------------------------------
def request_for_reviewer(user, reference: str) -> AccessRequest | None:
    """The request with everything its page shows, if ``user`` may read it; ``followed``: whether
    ``user`` follows it."""
    request = (
        visible_requests(user)
        .annotate(followed=_followed_by(user))
        # ``delay``: the clock's row (delays.clock.request_clock), in the same query.
        .select_related("organisation", "delay")
        # The datasets with their holders in one query; the dossier's own documents under
        # ``attachments`` (those sent with a message show in the thread).
        .prefetch_related(Prefetch("datasets", dataset_list()),
                          Prefetch("attachments", Attachment.objects.filter(message__isnull=True)))
        .filter(reference=reference)
        .first()
    )
    if request is not None:
        attach_people([request], "applicant", "assignee")  # apart: eleven tables joined take long to plan
    return request


# --- the thread ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Reading:
    who: str
    at: dt.datetime


@dataclass(frozen=True)
class ThreadMessage:
    """A message as the reviewers read it: who wrote it (name and role), and, on their own side's
    messages, who on the other side has read it and when (other reviewers, for an internal note)."""

    message: Message
    author: str
    role_label: str
    kind: str
    reason_label: str
    internal: bool
    from_applicant: bool
    attachments: list
    read_by: list[Reading]


def thread(request: AccessRequest) -> list[ThreadMessage]:
    """Every message of the request, internal notes included, oldest first (constant queries)."""
    rows = []
    for message in request_selectors.thread(request, for_applicant=False, person_relations=PERSON_RELATIONS):
        read_by = []
        if not message.from_applicant:
            for receipt in message.receipts.all():
                if receipt.by_applicant != message.internal and receipt.user_id != message.author_id:
                    read_by.append(Reading(who=display_name(receipt.user), at=receipt.read_at))
        rows.append(ThreadMessage(
            message=message, author=display_name(message.author) if message.author else "",
            role_label=str(Role(message.role).label) if message.role in Role.values else message.role,
            kind=message.kind, internal=message.internal, from_applicant=message.from_applicant,
            reason_label=_reason_label((message.event.payload or {}).get("reason", "")) if message.event else "",
            attachments=list(message.attachments.all()), read_by=read_by,
        ))
    return rows


def _reason_label(reason: str) -> str:
    return str(InformationReason(reason).label) if reason in InformationReason.values else ""


def expert_invitations(request: AccessRequest) -> list[ExpertInvitation]:
    return request_selectors.expert_invitations_of(request)


def events_of(request: AccessRequest) -> list[Event]:
    """One request's events, oldest first, each actor with what names them (accounts.people)."""
    return list(event_log().select_related(*related("actor")).filter(request_id=request.pk))


def assignee_names(events: Iterable[Event]) -> dict[int, str]:
    """The names of the people the assignment events of a page name (one query)."""
    ids = {(e.payload or {}).get("assignee") for e in events if e.action == EventAction.ASSIGN} - {None}
    return {user.pk: display_name(user)
            for user in get_user_model().objects.filter(pk__in=ids).select_related(*PERSON_RELATIONS)}


def allowed_actions(request: AccessRequest, roles: Iterable[str], *, has_tasks: bool = False) -> list[str]:
    """The back-office actions ``roles`` (user_roles on this request) may take now, in page order.

    The workflow decides (``available_actions``), under the reviewer roles the back office acts
    in; the services check again when the form is posted. A request with holder tasks offers the
    contract, matching and delivery on each task instead (``task_actions``).
    """
    actions = available_actions(services.facts_of(request), set(roles) & REVIEWER_ROLES)
    return [a for a in actions if a not in TASK_ACTIONS] if has_tasks else actions


def assignable_users(request: AccessRequest):
    """Colleagues who can act on the request's current stage (or the stage it is paused from)."""
    User = get_user_model()
    stage = request.paused_from if request.state == State.AWAITING_APPLICANT else request.state
    owners = set(acting_roles(stage))
    condition = Q(pk__in=[])
    for role in owners - {Role.DATA_HOLDER}:
        codename = ROLE_PERMISSIONS[role]
        condition |= Q(groups__permissions__codename=codename) | Q(user_permissions__codename=codename)
    if Role.DATA_HOLDER in owners:
        holders = {d.holder_id for d in request.datasets.all()}
        codename = ROLE_PERMISSIONS[Role.DATA_HOLDER]
        condition |= (Q(groups__permissions__codename=codename) | Q(user_permissions__codename=codename)) & Q(
            profile__data_holder_id__in=holders)
    ids = User.objects.filter(is_active=True).filter(condition).values("pk")
    extra = [request.assignee_id] if request.assignee_id else []
    return (User.objects.filter(Q(pk__in=ids) | Q(pk__in=extra)).select_related(*PERSON_RELATIONS)
            .order_by("last_name", "first_name", "email"))



# --- saved filters ------------------------------------------------------------------------------
def saved_filters(user) -> QuerySet[SavedFilter]:
    """``user``'s saved queue filters, by name."""
    return SavedFilter.objects.filter(user_id=user.pk).order_by("name", "pk")


def saved_filter(user, filter_id: int) -> SavedFilter | None:
    """One of ``user``'s saved filters; None for another user's (a 404, as for a missing one)."""
    return saved_filters(user).filter(pk=filter_id).first()


# --- the roadmap's records (secretariat) --------------------------------------------------------
def partnerships() -> QuerySet[Partnership]:
    """Every partnership with a data infrastructure, the latest signed first (one query)."""
    return Partnership.objects.select_related("recorded_by").order_by("-signed_on", "-pk")


def civil_society_exchanges() -> QuerySet[CivilSocietyExchange]:
    """Every exchange with civil society, the latest first (one query)."""
    return CivilSocietyExchange.objects.select_related("recorded_by").order_by("-held_on", "-pk")
