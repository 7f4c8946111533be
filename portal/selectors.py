"""Reads of the applicant portal: which requests a user sees, and what their pages show.

Visibility: an applicant sees the requests of their organisation (the data controller), and
any request they lead themselves (``access_requests.visibility.applicant_side``, the rule the back
office, the API and the webhooks share). Everything else is a 404 for them. List pages run a constant
number of queries; the delay figures come from the materialised ``RequestDelay`` row.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Case, F, Prefetch, Q, QuerySet, Value, When
from django.db.models.functions import Coalesce, Lower
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from access_requests import publication, visibility
from access_requests import selectors as request_selectors
from access_requests.completeness import completeness_problems  # noqa: F401 - the portal's checklist
from access_requests.models import (
    AccessRequest,
    Attachment,
    AttachmentKind,
    HolderTask,
    Message,
    MessageKind,
)
from access_requests.selectors import attachments_for_applicant, event_log
from access_requests.selectors.public import project_preview
from access_requests.workflow import (
    TERMINAL_STATES,
    WITHDRAWABLE_STATES,
    InformationReason,
    Role,
    Route,
    State,
)
from accounts.people import PERSON_RELATIONS, attach_people, display_name
from catalog.models import Dataset
from catalog.selectors import dataset_list
from delays.clock import Medians, RequestClock, request_clock, request_clocks
from documents import timeline
from documents.timeline import ACTION_LABELS, HistoryRow  # noqa: F401 - the portal's names for them
from hdh_access.lib.search import folded, folded_text

EDITABLE_STATES = frozenset({State.DRAFT, State.AWAITING_APPLICANT})
AWAITING_APPLICANT_STATES = (State.DRAFT, State.AWAITING_APPLICANT)
ENDED_STATES = (State.DELIVERED, *TERMINAL_STATES)
REQUIRED_ATTACHMENTS = (AttachmentKind.PROTOCOL, AttachmentKind.DATA_MANAGEMENT_PLAN)

# Delay statuses as the applicant reads them, with the DSFR badge that shows them.
STATUS_LABELS = {
    "on_track": (gettext_lazy("Dans les temps"), "success"),
    "at_risk": (gettext_lazy("À risque"), "warning"),
    "late": (gettext_lazy("En retard"), "error"),
    "met": (gettext_lazy("Objectif tenu"), "success"),
    "missed": (gettext_lazy("Objectif manqué"), "error"),
    "closed": (gettext_lazy("Terminée sans mise à disposition"), "info"),
}
# Why the instructors asked the applicant for information (workflow.InformationReason), as they read it.
REASON_LABELS = {
    InformationReason.INCOMPLETE.value: gettext_lazy("dossier incomplet"),
    InformationReason.INCORRECT.value: gettext_lazy("information inexacte"),
    InformationReason.OTHER.value: gettext_lazy("demande de précision"),
}


# --- visibility ------------------------------------------------------------------------------
def requests_for_applicant(user) -> QuerySet[AccessRequest]:
    """The requests ``user`` sees in the portal: their organisation's, and their own (the rule:
    ``access_requests.visibility.applicant_side``)."""
    return visibility.applicant_side(user)


# The list's sorts (portal.forms.LIST_SORT_LABELS): a column, ascending; "-" in front reverses it.
_STATE_ORDER = Case(*(When(state=state, then=Value(index)) for index, state in enumerate(State.values)),
                    default=Value(len(State.values)))
LIST_SORTS = {
    "reference": (F("reference"),),
    "title": (Lower("title"), F("reference")),
    "state": (_STATE_ORDER, F("reference")),
    "created": (F("created_at"), F("pk")),
    "updated": (F("updated_at"), F("pk")),
}


def request_list(user, *, q: str = "", sort: str = "") -> QuerySet[AccessRequest]:
    """The portal's list: one query per page, delay figures joined.

    ``q``: a part of the reference or the title, without case (nor accents, where PostgreSQL has
    ``unaccent``: hdh_access.lib.search); ``sort``: a key of ``LIST_SORTS``, ``-`` in front for
    descending; anything else keeps the default order.
    """
    queryset = requests_for_applicant(user).select_related("delay", "organisation")
    if q:
        term = folded_text(q)
        queryset = queryset.annotate(reference_folded=folded("reference"), title_folded=folded("title")).filter(
            Q(reference_folded__contains=term) | Q(title_folded__contains=term))
    descending = sort.startswith("-")
    keys = LIST_SORTS.get(sort.removeprefix("-"))
    if keys:
        return queryset.order_by(*(key.desc() if descending else key.asc() for key in keys))
    # What waits on the applicant first, then what is under way, then what has ended; within
    # each, the latest move first (the last event once submitted, the last edit of a draft).
    return queryset.order_by(
        Case(When(state__in=AWAITING_APPLICANT_STATES, then=Value(0)),
             When(state__in=ENDED_STATES, then=Value(2)), default=Value(1)),
        Coalesce("delay__last_event_at", "updated_at").desc(), "-pk")


def request_for_page(user, reference: str) -> AccessRequest:
    """One visible request with what its page shows, or 404."""
    queryset = requests_for_applicant(user).select_related("delay", "organisation").prefetch_related(
        Prefetch("datasets", queryset=dataset_list()),
        # The dossier's own documents (those sent with a message show in the thread).
        Prefetch("attachments", queryset=Attachment.objects.filter(message__isnull=True)
                 .select_related("uploaded_by").order_by("uploaded_at", "pk")),
        Prefetch("events", queryset=event_log()),
        Prefetch("holder_tasks", queryset=HolderTask.objects.select_related("holder").order_by("holder__name", "pk")),
    )
    try:
        request = queryset.get(reference=reference)
    except AccessRequest.DoesNotExist:
        raise Http404(_("Demande introuvable.")) from None
    attach_people([request], "applicant")  # apart: the tables that name a person take long to plan, joined
    return request


def request_for_action(user, reference: str) -> AccessRequest:
    """One visible request, without its page's relations (for form posts), or 404."""
    try:
        return requests_for_applicant(user).get(reference=reference)
    except AccessRequest.DoesNotExist:
        raise Http404(_("Demande introuvable.")) from None


def attachment_for_download(user, attachment_id: int) -> Attachment:
    """An attachment of a request of the user's organisation, or 404: a document of the dossier or
    one sent with a message they may read (never with an internal note).

    Reviewers download through the back office, which applies their own visibility (no drafts,
    data holders limited to their datasets).
    """
    try:
        return attachments_for_applicant().select_related("request").get(
            pk=attachment_id, request__in=requests_for_applicant(user))
    except Attachment.DoesNotExist:
        raise Http404(_("Pièce introuvable.")) from None


def attachment_for_removal(user, attachment_id: int) -> Attachment:
    try:
        return Attachment.objects.select_related("request").get(
            pk=attachment_id, request__in=requests_for_applicant(user))
    except Attachment.DoesNotExist:
        raise Http404(_("Pièce introuvable.")) from None


def catalogue() -> QuerySet[Dataset]:
    return dataset_list()


# --- what the public directory publishes ------------------------------------------------------
@dataclass(frozen=True)
class PublicPreview:
    """The request's public record (access_requests.selectors.public, the directory's own) and what
    its team may still change of it."""

    record: dict
    public: bool
    summary_editable: bool
    results_editable: bool


def public_preview(access_request: AccessRequest) -> PublicPreview:
    public = publication.is_public(access_request.pk)
    return PublicPreview(
        record=project_preview(access_request.pk) or {}, public=public,
        summary_editable=publication.summary_editable(state=access_request.state, public=public),
        results_editable=publication.results_editable(public=public),
    )


# --- completeness ----------------------------------------------------------------------------
# --- delays at an instant (delays.clock) -------------------------------------------------------
@dataclass(frozen=True)
class DelayFigures:
    """A request's clock (delays.clock) with the labels the applicant reads."""

    clock: RequestClock

    def __getattr__(self, name: str):
        return getattr(self.clock, name)

    @property
    def status_label(self) -> str:
        return str(STATUS_LABELS.get(self.clock.status, (self.clock.status, "info"))[0])

    @property
    def status_badge(self) -> str:
        return STATUS_LABELS.get(self.clock.status, ("", "info"))[1]


def delay_figures(request: AccessRequest, *, now: dt.datetime | None = None,
                  medians: Medians | None = None) -> DelayFigures | None:
    """The figures of ``request`` at ``now`` (None before submission)."""
    clock = request_clock(request, now or timezone.now(), medians=medians)
    return DelayFigures(clock) if clock is not None else None


def state_label(state: str) -> str:
    return str(State(state).label) if state in State.values else state


@dataclass(frozen=True)
class ListRow:
    request: AccessRequest
    figures: DelayFigures | None

    @property
    def awaits_applicant(self) -> bool:
        return self.request.state in (State.DRAFT, State.AWAITING_APPLICANT)


def list_rows(requests, *, now: dt.datetime | None = None) -> list[ListRow]:
    """The list's rows: each request with its figures at ``now``; the requests whose delay row lags
    their last change are replayed together (``delays.clock.request_clocks``)."""
    requests = list(requests)
    clocks = request_clocks(requests, now or timezone.now())
    return [ListRow(request=r, figures=DelayFigures(clocks[r.pk]) if r.pk in clocks else None) for r in requests]


# --- the request's page ----------------------------------------------------------------------
@dataclass(frozen=True)
class StageVisitRow:
    """A stay in a stage with its legal clock (delays.clock.VisitClock), in the applicant's words.

    ``reason_label`` and ``paused_days``: the information request that interrupted this stay
    (or, on the applicant's own time, the one it answers) and the whole days it waited on them.
    """

    stage: str
    label: str
    start: dt.datetime
    end: dt.datetime | None
    days: float
    due_date: dt.date | None
    tacit_label: str
    tacit_effect_date: dt.date | None
    overdue: bool
    applicant_time: bool
    extended: bool = False
    urgent: bool = False
    projected: bool = False
    reason: str = ""
    reason_label: str = ""
    paused_days: int = 0

    @property
    def is_current(self) -> bool:
        return self.end is None

    @property
    def interrupted(self) -> bool:
        """A stay the instructors interrupted to ask the applicant for information."""
        return bool(self.reason) and not self.applicant_time


# A wait on the applicant, as its row of the stage table and its share of the time say it.
PAUSE_LABEL = gettext_lazy("En attente de votre réponse")


def stage_label(stage: str) -> str:
    """The stage as the applicant's tables name it: a wait on them is theirs, not a step."""
    return str(PAUSE_LABEL) if stage == State.AWAITING_APPLICANT else state_label(stage)


def reason_label(reason: str) -> str:
    return str(REASON_LABELS.get(reason, reason))


def stage_visits(figures: DelayFigures | None) -> list[StageVisitRow]:
    """Each stay in a stage with its statutory clock, at the figures' instant, in the order they
    happened: a wait on the applicant is its own row, between the stays it separates."""
    if figures is None:
        return []
    return [
        StageVisitRow(
            stage=visit.stage, label=stage_label(visit.stage), start=visit.entered_at, end=visit.left_at,
            days=visit.days, due_date=visit.due_date, tacit_label=visit.tacit_label,
            tacit_effect_date=visit.tacit_effect_date, overdue=visit.overdue,
            applicant_time=visit.is_pause, extended=visit.extended, urgent=visit.urgent,
            projected=visit.projected, reason=visit.reason, reason_label=reason_label(visit.reason),
            paused_days=visit.paused_days,
        )
        for visit in figures.visits
    ]


@dataclass(frozen=True)
class StageTotal:
    stage: str
    label: str
    days: float
    share: float  # of the elapsed time, 0..100


def stage_totals(figures: DelayFigures | None) -> list[StageTotal]:
    """Time spent in each stage so far (repeated visits summed), in the order the stages were
    first entered (delays.clock), with its share of the time elapsed."""
    if figures is None:
        return []
    totals = figures.clock.time_by_stage()
    whole = sum(days for _stage, days in totals) or 1.0
    return [StageTotal(stage=stage, label=stage_label(stage), days=days, share=round(100 * days / whole, 1))
            for stage, days in totals]


def history(request: AccessRequest) -> list[HistoryRow]:
    """The event log as the applicant reads it (roles, never reviewers' names): documents.timeline,
    which the dossier PDF reads too."""
    return timeline.history(request.events.all())


@dataclass(frozen=True)
class OpenQuestion:
    asked_at: dt.datetime
    role_label: str
    stage_label: str
    question: str
    reason_label: str = ""


def open_question(request: AccessRequest, visits: list[StageVisitRow] | None = None) -> OpenQuestion | None:
    """The information request the applicant has to answer, if the dossier waits on them; its
    reason is the open stay's on the applicant's time (``stage_visits``, from the clock)."""
    if request.state != State.AWAITING_APPLICANT:
        return None
    asked = [e for e in request.events.all() if e.to_state == State.AWAITING_APPLICANT]
    if not asked:
        return None
    event = asked[-1]
    question = (event.payload or {}).get("question") or event.comment
    current = visits[-1] if visits and visits[-1].is_current and visits[-1].applicant_time else None
    return OpenQuestion(
        asked_at=event.at, role_label=str(Role(event.role).label) if event.role in Role.values else "",
        stage_label=state_label(request.paused_from or event.from_state), question=question,
        reason_label=current.reason_label if current else "",
    )


@dataclass(frozen=True)
class Step:
    state: str
    label: str


@dataclass
class Progress:
    steps: list[Step] = field(default_factory=list)
    current: int = 0  # 1-based index in steps; 0 before submission

    @property
    def total(self) -> int:
        return len(self.steps)

    @property
    def current_label(self) -> str:
        return self.steps[self.current - 1].label if self.current else ""

    @property
    def next_label(self) -> str:
        return self.steps[self.current].label if 0 < self.current < len(self.steps) else ""


def progress(request: AccessRequest) -> Progress | None:
    """Where the dossier stands on its route (None once refused or withdrawn)."""
    if request.state in (State.REJECTED, State.WITHDRAWN):
        return None
    path: list[str] = [State.SUBMITTED]
    if request.route == Route.STANDARD:
        path += [State.CESREES_REVIEW, State.CNIL_REVIEW]
    path += [State.CONTRACTING]
    if request.requires_matching:
        path += [State.MATCHING]
    path += [State.EXTRACTION, State.DELIVERED]
    steps = [Step(state=s, label=state_label(s)) for s in path]
    state = request.paused_from if request.state == State.AWAITING_APPLICANT else request.state
    if state == State.CLOSED:
        state = State.DELIVERED
    current = path.index(state) + 1 if state in path else 0
    return Progress(steps=steps, current=current)


# --- one line per data holder: documents.timeline (the dossier PDF shows the same lines) ----------
holder_lines = timeline.holder_lines
HolderLine = timeline.HolderLine


def can_edit(request: AccessRequest) -> bool:
    return request.state == State.DRAFT


def can_upload(request: AccessRequest) -> bool:
    return request.state in EDITABLE_STATES


def can_withdraw(request: AccessRequest) -> bool:
    return request.state in WITHDRAWABLE_STATES


def is_finished(request: AccessRequest) -> bool:
    return request.state in TERMINAL_STATES


# --- the thread of messages ------------------------------------------------------------------------
MESSAGE_KIND_LABELS = {
    MessageKind.INFORMATION_REQUEST.value: gettext_lazy("Demande de compléments"),
    MessageKind.ANSWER.value: gettext_lazy("Votre réponse à la demande de compléments"),
}


@dataclass(frozen=True)
class Reading:
    who: str
    at: dt.datetime


@dataclass(frozen=True)
class ThreadMessage:
    """A message as the applicant's side reads it: the reviewers by their role, never by name (like
    the history); on their own side's messages, who among the reviewers has read it and when."""

    message: Message
    author_label: str
    from_applicant: bool
    kind_label: str
    reason_label: str
    attachments: list[Attachment]
    read_by: list[Reading]


def _role_label(role: str) -> str:
    return str(Role(role).label) if role in Role.values else role


def thread(request: AccessRequest) -> list[ThreadMessage]:
    """The request's messages the applicant's side may read (never an internal note), oldest first,
    in a constant number of queries."""
    rows = []
    for message in request_selectors.thread(request, for_applicant=True, person_relations=PERSON_RELATIONS):
        read_by: dict[str, Reading] = {}
        if message.from_applicant:
            for receipt in message.receipts.all():  # oldest first: each reviewer role's first reading
                if not receipt.by_applicant:
                    read_by.setdefault(receipt.role, Reading(who=_role_label(receipt.role), at=receipt.read_at))
        reason = (message.event.payload or {}).get("reason", "") if message.event is not None else ""
        rows.append(ThreadMessage(
            message=message, from_applicant=message.from_applicant,
            author_label=display_name(message.author) if message.from_applicant else _role_label(message.role),
            kind_label=str(MESSAGE_KIND_LABELS.get(message.kind, "")),
            reason_label=reason_label(reason) if reason else "",
            attachments=list(message.attachments.all()), read_by=list(read_by.values()),
        ))
    return rows


def can_write_messages(request: AccessRequest) -> bool:
    """The thread opens once the request is submitted."""
    return request.state != State.DRAFT
