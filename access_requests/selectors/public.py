"""The public record of a project: the one read behind every public page and export of the directory
and behind the portal's preview of what will be published.

``public_projects(...)`` is the directory's queryset: the requests that are public
(access_requests.publication: the decision reached), searched, filtered and sorted, as plain
dicts holding **only the public columns** (``PUBLIC_COLUMNS``: never an id of a person, a name,
an email, a note, a message, a comment or an attachment; the organisation's name is the data
controller's). ``public_record(row)`` turns one of those dicts into what pages, the feed, the
CSV, the JSON and the portal's preview show. ``project_preview`` is the same record for a request
not yet public (the applicant's preview): the same columns, the same function.

One query per page: the three public dates are correlated subqueries on the event log (through
the partial index ``event_public_dates_idx``), the datasets and their holders one JSON array
built in the database (``_DatasetsJson``), the organisation's name a join.

Search: on PostgreSQL, French full-text search (``websearch_to_tsquery``: words, "quoted
phrases", -exclusions; stemming, so "hôpitaux" finds "hôpital") on the title and the public
summary, served by the GIN index of migration access_requests 0017; elsewhere (SQLite) a
case- and accent-folded ``contains`` on the same two texts (hdh_access.lib.search).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db import connection
from django.db.models import Aggregate, Exists, F, OuterRef, Q, QuerySet, Subquery, TextField
from django.db.models.functions import JSONObject
from django.urls import reverse
from django.utils.translation import get_language

from access_requests import publication
from access_requests.models import AccessRequest
from access_requests.workflow import Route, State
from hdh_access.lib.dates import PARIS
from hdh_access.lib.search import folded, folded_text

# Every column a public read selects: nothing else leaves the database.
PUBLIC_COLUMNS = (
    "reference", "title", "public_summary", "results_url", "route", "state", "organisation_name",
    "submitted_at", "decided_at", "delivered_at", "datasets_json",
)
# The states a public request can be in (the decision is behind it).
PUBLIC_STATES = (
    State.CONTRACTING, State.MATCHING, State.EXTRACTION, State.DELIVERED, State.CLOSED,
    State.AWAITING_APPLICANT, State.WITHDRAWN,
)
SORTS = {
    "recent": ("-decided_at", "-reference"),
    "oldest": ("decided_at", "reference"),
    "submitted": ("-submitted_at", "-reference"),
    "title": ("title", "reference"),
}
RELEVANCE = "relevance"
DEFAULT_SORT = "recent"


class _DatasetsJson(Aggregate):
    """The JSON array (as text) of the aggregated rows: ``json_agg`` on PostgreSQL,
    ``json_group_array`` on SQLite."""

    function = "JSON_GROUP_ARRAY"
    output_field = TextField()

    def as_postgresql(self, compiler, conn, **extra_context):
        return self.as_sql(compiler, conn, template="CAST(JSON_AGG(%(expressions)s) AS text)", **extra_context)


def _datasets_json() -> Subquery:
    through = AccessRequest.datasets.through
    rows = (through.objects.filter(accessrequest_id=OuterRef("pk")).order_by().values("accessrequest_id")
            .annotate(items=_DatasetsJson(JSONObject(code=F("dataset__code"), name=F("dataset__name"),
                                                     holder_code=F("dataset__holder__code"),
                                                     holder=F("dataset__holder__name"))))
            .values("items"))
    return Subquery(rows, output_field=TextField())


def _annotated() -> QuerySet[AccessRequest]:
    return AccessRequest.objects.annotate(
        organisation_name=F("organisation__name"),
        submitted_at=publication.first_arrival(publication.SUBMISSION_STATE),
        decided_at=publication.first_arrival(publication.DECISION_STATE),
        delivered_at=publication.first_arrival(publication.DELIVERY_STATE),
        datasets_json=_datasets_json(),
    )


def _year(year: int) -> tuple[dt.datetime, dt.datetime]:
    return dt.datetime(year, 1, 1, tzinfo=PARIS), dt.datetime(year + 1, 1, 1, tzinfo=PARIS)


@dataclass(frozen=True)
class Criteria:
    """What a visitor searches for; empty values do not filter."""

    q: str = ""
    dataset: str = ""
    holder: str = ""
    year: int | None = None  # of the authorisation (the decision)
    submitted_year: int | None = None
    state: str = ""
    route: str = ""
    sort: str = ""

    @property
    def effective_sort(self) -> str:
        if self.sort in SORTS or (self.sort == RELEVANCE and self.q):
            return self.sort
        return RELEVANCE if self.q and connection.vendor == "postgresql" else DEFAULT_SORT


def public_projects(criteria: Criteria | None = None) -> QuerySet:
    """The public projects matching ``criteria``, sorted, as dicts of ``PUBLIC_COLUMNS``."""
    criteria = criteria or Criteria()
    queryset = _annotated().filter(publication.decided())
    through = AccessRequest.datasets.through
    if criteria.dataset:
        queryset = queryset.filter(Exists(through.objects.filter(accessrequest_id=OuterRef("pk"),
                                                                 dataset__code=criteria.dataset)))
    if criteria.holder:
        queryset = queryset.filter(Exists(through.objects.filter(accessrequest_id=OuterRef("pk"),
                                                                 dataset__holder__code=criteria.holder)))
    if criteria.year:
        start, end = _year(criteria.year)
        queryset = queryset.filter(**{"decided_at__gte": start, "decided_at__lt": end})  # annotations
    if criteria.submitted_year:
        start, end = _year(criteria.submitted_year)
        queryset = queryset.filter(**{"submitted_at__gte": start, "submitted_at__lt": end})
    if criteria.state:
        queryset = queryset.filter(state=criteria.state)
    if criteria.route:
        queryset = queryset.filter(route=criteria.route)
    sort = criteria.effective_sort
    if criteria.q.strip():
        if connection.vendor == "postgresql":
            query = SearchQuery(criteria.q, config=publication.SEARCH_CONFIG, search_type="websearch")
            queryset = queryset.annotate(search=publication.search_vector()).filter(search=query)
            if sort == RELEVANCE:
                queryset = queryset.annotate(rank=SearchRank(publication.search_vector(), query))
        else:
            needle = folded_text(criteria.q.strip())
            queryset = queryset.annotate(folded_title=folded("title"), folded_summary=folded("public_summary")
                                         ).filter(Q(folded_title__contains=needle) | Q(folded_summary__contains=needle))
    ordering = ("-rank", "-decided_at", "-reference") if sort == RELEVANCE and criteria.q.strip() else SORTS.get(
        sort, SORTS[DEFAULT_SORT])
    return queryset.order_by(*ordering).values(*PUBLIC_COLUMNS)


def public_project(reference: str) -> dict[str, Any] | None:
    """The public record of the project ``reference``, or None when it is not public."""
    row = _annotated().filter(publication.decided(), reference=reference).values(*PUBLIC_COLUMNS).first()
    return public_record(row) if row else None


def project_preview(request_id: int) -> dict[str, Any] | None:
    """What the directory publishes (or will publish, once decided) of the request ``request_id``:
    the applicant's preview in the portal."""
    row = _annotated().filter(pk=request_id).values(*PUBLIC_COLUMNS).first()
    return public_record(row) if row else None


def _date(value: dt.datetime | str | None) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, str):  # an annotation SQLite returned as text
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(PARIS).date()


def _label(choices: Any, value: str) -> str:
    return str(choices(value).label) if value in choices.values else value


def public_record(row: dict[str, Any]) -> dict[str, Any]:
    """One public project as every public output reads it (see the module)."""
    datasets = sorted(json.loads(row["datasets_json"] or "[]"), key=lambda d: (d["name"], d["code"]))
    holders: dict[str, str] = {}
    for item in sorted(datasets, key=lambda d: d["holder"]):
        holders.setdefault(item["holder_code"], item["holder"])
    reference = row["reference"]
    return {
        "reference": reference,
        "title": row["title"],
        "data_controller": row["organisation_name"] or "",
        "public_summary": row["public_summary"],
        "datasets": [{"code": d["code"], "name": d["name"], "holder": d["holder"]} for d in datasets],
        "holders": [{"code": code, "name": name} for code, name in holders.items()],
        "route": row["route"],
        "route_label": _label(Route, row["route"]),
        "state": row["state"],
        "state_label": _label(State, row["state"]),
        "submitted_on": _date(row["submitted_at"]),
        "authorised_on": _date(row["decided_at"]),
        "delivered_on": _date(row["delivered_at"]),
        "decided_at": row["decided_at"],
        "results_url": row["results_url"],
        "path": project_path(reference),
    }


def project_path(reference: str, *, language: str | None = None) -> str:
    """The project's page: /projets/<reference>/, or /en/projects/<reference>/ in English."""
    english = (language or get_language() or "fr").startswith("en")
    return reverse("directory:project_en" if english else "directory:project", args=[reference])


def public_records(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return [public_record(row) for row in rows]
