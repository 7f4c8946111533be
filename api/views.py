"""The REST API (docs/api.md): reads through api.selectors (the pages' visibility), writes
through the workflow's services (api.transitions), errors as problem details (api.problems).

Every resource carries an ``ETag``; writes need ``If-Match`` (api.etags). Lists are
cursor-paginated (api.pagination).
"""

from __future__ import annotations

from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from access_requests import services
from access_requests.models import AccessRequest, HolderTask
from access_requests.roles import can_open_backoffice, task_roles, user_roles
from access_requests.services import facts_of
from access_requests.workflow import (
    REVIEWER_ROLES,
    TASK_ACTIVE_REQUEST_STATES,
    HolderTaskState,
    Role,
    Route,
    State,
    available_actions,
    available_task_actions,
)
from api import etags, selectors, transitions
from api.pagination import ByCode, EventLogOrder, OldestFirst
from api.problems import PROBLEM_JSON, problem, problem_types
from api.serializers import (
    AttachmentSerializer,
    DatasetSerializer,
    EventSerializer,
    HolderSerializer,
    MessageInput,
    MessageSerializer,
    RequestDetailSerializer,
    RequestSerializer,
    TaskSerializer,
    TaskTransitionInput,
    TransitionInput,
)
from catalog.models import DataHolder
from catalog.selectors import dataset_list
from delays.clock import request_clock
from delays.holders import tasks_as_of
from delays.report import application_json, build_report
from documents import responses as documents
from hdh_access.db_router import replica_reads
from hdh_access.lib.cli import parse_as_of
from portal.selectors import can_withdraw

PROBLEM_BODY = inline_serializer("Problem", {
    "type": serializers.CharField(), "title": serializers.CharField(), "status": serializers.IntegerField(),
    "detail": serializers.CharField(), "code": serializers.CharField()})


def problems(*statuses: int) -> dict:
    """Schema responses for errors: RFC 9457 problem details (api.problems)."""
    return {(code, PROBLEM_JSON): OpenApiResponse(PROBLEM_BODY, description="RFC 9457 problem details")
            for code in statuses}


ERRORS = problems(400, 401, 403, 404, 405, 406, 429)
WRITE_ERRORS = {**ERRORS, **problems(409, 412, 415, 428)}
IF_MATCH = OpenApiParameter("If-Match", OpenApiTypes.STR, OpenApiParameter.HEADER, required=True,
                            description="The resource's current ETag (428 without it, 412 when stale).")


def _with_etag(response: Response, etag: str) -> Response:
    response["ETag"] = etag
    return response


def _request_or_404(user, reference: str) -> AccessRequest:
    found = selectors.request_detail(user, reference)
    if found is None:
        raise Http404(_("Demande introuvable."))
    return found


def _request_transitions(user, request: AccessRequest) -> list[str]:
    """The names the user may post now: the reviewer's actions (as the back office lists them),
    then the applicant's (as the portal offers them)."""
    roles = user_roles(user, request)
    names = available_actions(facts_of(request), roles & REVIEWER_ROLES) if request.state != State.DRAFT else []
    if Role.APPLICANT in roles:
        if request.state == State.DRAFT:
            names.append("submit")
        if request.state == State.AWAITING_APPLICANT:
            names.append("answer_information")
        if can_withdraw(request) and "withdraw" not in names:
            names.append("withdraw")
    return names


def _task_transitions(user, tasks) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    for task in tasks:
        roles = task_roles(user, task) & REVIEWER_ROLES
        active = task.request.state in TASK_ACTIVE_REQUEST_STATES
        found[task.pk] = available_task_actions(task.state, roles, requires_matching=task.requires_matching) \
            if active else []
    return found


def _detail(user, request: AccessRequest, *, http_status: int = 200) -> Response:
    now = timezone.now()
    clock = request_clock(request, now)
    clock_json = None
    if clock is not None:
        clock_json = application_json(clock, tasks_as_of(now, [request.pk]).get(request.pk, []))
    tasks = list(request.holder_tasks.all())
    for task in tasks:
        task.request = request
    context = {"clock": clock_json, "transitions": _request_transitions(user, request),
               "task_transitions": _task_transitions(user, tasks)}
    data = RequestDetailSerializer(request, context=context).data
    return _with_etag(Response(data, status=http_status), etags.request_etag(request))


# --- requests --------------------------------------------------------------------------------
REQUEST_FILTERS = [
    OpenApiParameter("state", OpenApiTypes.STR, enum=State.values, description="only requests in this state"),
    OpenApiParameter("route", OpenApiTypes.STR, enum=Route.values),
    OpenApiParameter("requires_matching", OpenApiTypes.BOOL),
    OpenApiParameter("dataset", OpenApiTypes.STR, description="a dataset code"),
    OpenApiParameter("holder", OpenApiTypes.STR, description="a data holder code"),
    OpenApiParameter("updated_since", OpenApiTypes.DATETIME),
]


def _bool(value: str, name: str) -> bool:
    if value.lower() in ("true", "1"):
        return True
    if value.lower() in ("false", "0"):
        return False
    raise ValidationError({name: [_("Valeur attendue : true ou false.")]})


class RequestList(generics.ListAPIView):
    """The requests the user sees in the portal or the back office, newest first."""

    serializer_class = RequestSerializer

    @extend_schema(parameters=REQUEST_FILTERS, responses={200: RequestSerializer(many=True), **ERRORS})
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        queryset = selectors.request_list(self.request.user)
        params = self.request.query_params
        if "state" in params:
            if params["state"] not in State.values:
                raise ValidationError({"state": [_("État inconnu.")]})
            queryset = queryset.filter(state=params["state"])
        if "route" in params:
            if params["route"] not in Route.values:
                raise ValidationError({"route": [_("Procédure inconnue.")]})
            queryset = queryset.filter(route=params["route"])
        if "requires_matching" in params:
            queryset = queryset.filter(requires_matching=_bool(params["requires_matching"], "requires_matching"))
        if "dataset" in params:
            queryset = queryset.filter(datasets__code=params["dataset"])
        if "holder" in params:
            queryset = queryset.filter(datasets__holder__code=params["holder"]).distinct()
        if "updated_since" in params:
            try:
                if not params["updated_since"]:
                    raise ValueError("empty")  # parse_as_of would read it as "now"
                since = parse_as_of(params["updated_since"])
            except Exception:  # CommandError: the same reading as delay_report's --as-of
                raise ValidationError({"updated_since": [_("Date ou date-heure ISO 8601 attendue.")]}) from None
            queryset = queryset.filter(updated_at__gte=since)
        return queryset


class RequestDetail(APIView):
    """One request with its holder tasks, its clock (the delays function, as of now) and the
    transitions the user may post."""

    @extend_schema(responses={200: RequestDetailSerializer, 304: None, **ERRORS})
    def get(self, request: Request, reference: str) -> Response:
        found = _request_or_404(request.user, reference)
        etag = etags.request_etag(found)
        if etags.not_modified(request, etag):
            return _with_etag(Response(status=status.HTTP_304_NOT_MODIFIED), etag)
        return _detail(request.user, found)


class RequestTransitions(APIView):
    """Take a workflow action: the same services, permissions and errors as the pages."""

    @extend_schema(request=TransitionInput, parameters=[IF_MATCH],
                   responses={200: RequestDetailSerializer, **WRITE_ERRORS})
    def post(self, request: Request, reference: str) -> Response:
        found = _request_or_404(request.user, reference)
        etags.require_match(request, etags.request_etag(found))
        body = TransitionInput(data=request.data)
        body.is_valid(raise_exception=True)
        fields = dict(body.validated_data)
        name = fields.pop("name")
        transitions.perform(name=name, request=found, actor=request.user, fields=fields)
        return _detail(request.user, _request_or_404(request.user, reference))


class RequestEvents(generics.ListAPIView):
    """The request's event log, oldest first."""

    serializer_class = EventSerializer
    pagination_class = EventLogOrder

    @extend_schema(responses={200: EventSerializer(many=True), **ERRORS})
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        return selectors.events_of(_request_or_404(self.request.user, self.kwargs["reference"]))


class RequestMessages(generics.ListAPIView):
    """The thread as the user's side reads it (internal notes for the reviewers only); post a
    message (``internal``: a reviewers' note)."""

    serializer_class = MessageSerializer
    pagination_class = OldestFirst

    @extend_schema(responses={200: MessageSerializer(many=True), **ERRORS})
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        found = _request_or_404(self.request.user, self.kwargs["reference"])
        return selectors.messages_of(self.request.user, found).order_by("created_at", "id")

    @extend_schema(request=MessageInput, parameters=[IF_MATCH], responses={201: MessageSerializer, **WRITE_ERRORS})
    def post(self, request: Request, reference: str) -> Response:
        found = _request_or_404(request.user, reference)
        etags.require_match(request, etags.request_etag(found))
        body = MessageInput(data=request.data)
        body.is_valid(raise_exception=True)
        # The side is the user's: reviewers write as reviewers, the applicant's team as such.
        acting_as = REVIEWER_ROLES if selectors.is_reviewer_side(request.user, found) else {Role.APPLICANT}
        message = services.post_message(request_id=found.pk, actor=request.user, body=body.validated_data["body"],
                                        internal=body.validated_data["internal"], acting_as=acting_as)
        return Response(MessageSerializer(message).data, status=status.HTTP_201_CREATED)


class RequestAttachments(generics.ListAPIView):
    """The request's documents the user may download (never an internal note's for the applicant)."""

    serializer_class = AttachmentSerializer
    pagination_class = OldestFirst

    @extend_schema(responses={200: AttachmentSerializer(many=True), **ERRORS})
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        found = _request_or_404(self.request.user, self.kwargs["reference"])
        return (selectors.visible_attachments(self.request.user).filter(request_id=found.pk)
                .select_related("request").order_by("uploaded_at", "pk"))


class AttachmentDetail(generics.RetrieveAPIView):
    serializer_class = AttachmentSerializer

    @extend_schema(responses={200: AttachmentSerializer, **ERRORS})
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        return selectors.visible_attachments(self.request.user).select_related("request")


class AttachmentContent(APIView):
    """The document itself, with the pages' checks (409 while quarantined or when infected)."""

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY, **ERRORS, **problems(409)})
    def get(self, request: Request, pk: int):
        item = selectors.visible_attachments(request.user).filter(pk=pk).first()
        if item is None:
            raise Http404(_("Pièce introuvable."))
        return documents.attachment(item)


# --- holder tasks ----------------------------------------------------------------------------
TASK_FILTERS = [OpenApiParameter("state", OpenApiTypes.STR, enum=HolderTaskState.values),
                OpenApiParameter("holder", OpenApiTypes.STR, description="a data holder code")]


class TaskList(generics.ListAPIView):
    """The data holders' tasks the user sees (a holder's staff: their holder's only)."""

    serializer_class = TaskSerializer

    @extend_schema(parameters=TASK_FILTERS, responses={200: TaskSerializer(many=True), **ERRORS})
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        queryset = selectors.visible_tasks(self.request.user)
        params = self.request.query_params
        if "state" in params:
            if params["state"] not in HolderTaskState.values:
                raise ValidationError({"state": [_("État inconnu.")]})
            queryset = queryset.filter(state=params["state"])
        if "holder" in params:
            queryset = queryset.filter(holder__code=params["holder"])
        return queryset

    def get_serializer_context(self):
        context = super().get_serializer_context()
        page = getattr(self, "_page", None)
        if page is not None:
            context["task_transitions"] = _task_transitions(self.request.user, page)
        return context

    def paginate_queryset(self, queryset):
        self._page = super().paginate_queryset(queryset)
        return self._page


def _task_or_404(user, pk: int) -> HolderTask:
    task = selectors.visible_tasks(user).filter(pk=pk).first()
    if task is None:
        raise Http404(_("Tâche introuvable."))
    return task


def _task_response(user, task: HolderTask) -> Response:
    data = TaskSerializer(task, context={"task_transitions": _task_transitions(user, [task])}).data
    return _with_etag(Response(data), etags.task_etag(task))


class TaskDetail(APIView):
    @extend_schema(responses={200: TaskSerializer, 304: None, **ERRORS})
    def get(self, request: Request, pk: int) -> Response:
        task = _task_or_404(request.user, pk)
        etag = etags.task_etag(task)
        if etags.not_modified(request, etag):
            return _with_etag(Response(status=status.HTTP_304_NOT_MODIFIED), etag)
        return _task_response(request.user, task)


class TaskTransitions(APIView):
    """Record a holder's contract, matching or delivery on this task (the back office's task actions)."""

    @extend_schema(request=TaskTransitionInput, parameters=[IF_MATCH], responses={200: TaskSerializer, **WRITE_ERRORS})
    def post(self, request: Request, pk: int) -> Response:
        task = _task_or_404(request.user, pk)
        etags.require_match(request, etags.task_etag(task))
        body = TaskTransitionInput(data=request.data)
        body.is_valid(raise_exception=True)
        fields = dict(body.validated_data)
        transitions.perform_on_task(name=fields.pop("name"), task=task, actor=request.user, fields=fields)
        return _task_response(request.user, _task_or_404(request.user, pk))


# --- catalogue and delay figures ---------------------------------------------------------------
class DatasetList(generics.ListAPIView):
    serializer_class = DatasetSerializer
    pagination_class = ByCode
    queryset = dataset_list()

    @extend_schema(responses={200: DatasetSerializer(many=True), **ERRORS})
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)


class HolderList(generics.ListAPIView):
    serializer_class = HolderSerializer
    pagination_class = ByCode
    queryset = DataHolder.objects.order_by("name")

    @extend_schema(responses={200: HolderSerializer(many=True), **ERRORS})
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)


class DelayFigures(APIView):
    """The delay report's figures as of an instant: the same as ``manage.py delay_report``
    (summary, stages, holders). Back-office users only, as the dashboard."""

    @extend_schema(parameters=[OpenApiParameter("as_of", OpenApiTypes.STR,
                                                description="a date (00:00 Paris) or an ISO 8601 date-time; "
                                                            "default: now")],
                   responses={200: OpenApiTypes.OBJECT, **ERRORS})
    def get(self, request: Request) -> Response:
        if not can_open_backoffice(request.user):
            raise PermissionDenied(_("Les chiffres des délais sont réservés aux équipes du back-office."))
        try:
            as_of = parse_as_of(request.query_params.get("as_of"))
        except Exception:  # CommandError, with delay_report's message
            raise ValidationError({"as_of": [_("Date ou date-heure ISO 8601 attendue (entre 1900 et 2200).")]}) \
                from None
        with replica_reads():
            return Response(build_report(as_of))


# --- problem types ------------------------------------------------------------------------------
@extend_schema(exclude=True)
class ProblemType(APIView):
    """What a problem ``type`` means (its URL is the ``type`` of every error body)."""

    authentication_classes: list = []
    permission_classes: list = []

    def get(self, request: Request, code: str) -> Response:
        described = problem_types().get(code)
        if described is None:
            return Response(problem("not_found", 404, _("Type d'erreur inconnu.")), status=404,
                            content_type=PROBLEM_JSON)
        return Response({"type": f"/api/problems/{code}", "code": code, **described})
