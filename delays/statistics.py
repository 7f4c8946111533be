"""Aggregates over delivered requests: access delay and per-stage statistics as of an instant,
and the headline figure (issue #12, rule 7).

Computed in SQL on PostgreSQL (``percentile_cont``) and in Python on SQLite, from the
materialised RequestDelay rows. The report, the dashboard and the forecast baseline read them.

**The headline figure** has one definition, here, and every screen asks for it (the dashboard's
headline and quarterly chart, the weekly email, ``delay_report``'s summary, their CSV files):
among the requests *delivered* in a period, the share delivered within the target (7 months of
submission, applicant time excluded: ``RequestDelay.target_met``, computed by
``delays.rules.compute_delay``), with the mean, median and 90th percentile of the institution
days (``elapsed_days - applicant_days``) of those requests. The caller chooses the rows: the
target population (``requires_matching``) delivered by an instant, :func:`delivered_target_rows`.
A period with no delivery has ``share`` None ("no deliveries"), never 0; a period whose
deliveries were all late has ``share`` 0.0 and is still in the series.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any, TypedDict

from django.core.exceptions import EmptyResultSet
from django.db import connection, connections
from django.db.models import F, QuerySet
from django.db.models.functions import TruncQuarter

from access_requests.workflow import Route
from delays import rules
from delays.models import STAGE_FIELDS, RequestDelay
from hdh_access.lib.dates import PARIS, paris_date, start_of_paris_day

ROUND = 3


def _delivered_rows(as_of: dt.datetime, requires_matching: bool) -> QuerySet[RequestDelay]:
    return RequestDelay.objects.filter(requires_matching=requires_matching, delivered_at__lte=as_of)


# --- aggregates over delivered requests --------------------------------------------------
_AGG_FIELDS = ["elapsed_days", "target_met", *STAGE_FIELDS.values()]


def _aggregate_parts() -> list[str]:
    parts = [
        "count(*)", "count(*) FILTER (WHERE target_met)", "avg(elapsed_days)",
        "percentile_cont(0.5) WITHIN GROUP (ORDER BY elapsed_days)",
    ]
    for field in STAGE_FIELDS.values():
        parts += [
            f"count(*) FILTER (WHERE {field} > 0)",
            f"avg({field}) FILTER (WHERE {field} > 0)",
            f"percentile_cont(0.5) WITHIN GROUP (ORDER BY {field}) FILTER (WHERE {field} > 0)",
            f"percentile_cont(0.9) WITHIN GROUP (ORDER BY {field}) FILTER (WHERE {field} > 0)",
        ]
    return parts


def _aggregate_values(values: Sequence[Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    access = {"delivered": values[0], "met": values[1], "mean": values[2], "median": values[3]}
    stats = {}
    for index, stage in enumerate(STAGE_FIELDS):
        count, mean, median, p90 = values[4 + 4 * index: 8 + 4 * index]
        stats[stage] = rules.StageStats(count=count, mean_days=mean, median_days=median, p90_days=p90)
    return access, stats


def _aggregate_sql(delivered: QuerySet[RequestDelay]) -> tuple[dict[str, Any], dict[str, Any]]:
    """One PostgreSQL query over the given rows (the ORM writes the filter, SQL the percentiles)."""
    inner, params = delivered.values(*_AGG_FIELDS).query.sql_with_params()
    with connections[delivered.db].cursor() as cursor:  # the rows' database: the replica in replica_reads()
        cursor.execute(f"SELECT {', '.join(_aggregate_parts())} FROM ({inner}) AS delivered", params)
        return _aggregate_values(cursor.fetchone())


def aggregate_by_route(delivered: QuerySet[RequestDelay]) -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    """``aggregate_rows`` of ``delivered`` per route of the request (routes without a row left
    out): one query on PostgreSQL."""
    if connection.vendor != "postgresql":
        return {route: aggregate_rows(delivered.filter(request__route=route)) for route in ROUTES
                if delivered.filter(request__route=route).exists()}
    inner, params = delivered.values(*_AGG_FIELDS, "request__route").query.sql_with_params()
    with connections[delivered.db].cursor() as cursor:
        cursor.execute(f"SELECT route, {', '.join(_aggregate_parts())} "
                       f"FROM ({inner}) AS delivered ({', '.join(_AGG_FIELDS)}, route) GROUP BY route", params)
        return {route: _aggregate_values(values) for route, *values in cursor.fetchall()}


def _aggregate_python(delivered: QuerySet[RequestDelay]) -> tuple[dict[str, Any], dict[str, Any]]:
    rows = list(delivered.values_list(*_AGG_FIELDS))
    elapsed = [r[0] for r in rows]
    access = {
        "delivered": len(rows), "met": sum(1 for r in rows if r[1]),
        "mean": sum(elapsed) / len(elapsed) if elapsed else None,
        "median": rules.percentile_cont(elapsed, 0.5),
    }
    stage_rows = ({stage: r[2 + i] for i, stage in enumerate(STAGE_FIELDS)} for r in rows)
    return access, rules.stage_statistics(stage_rows)


def aggregate_rows(delivered: QuerySet[RequestDelay]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Access-delay figures and per-stage statistics of ``delivered`` rows: SQL on PostgreSQL, Python elsewhere."""
    if connection.vendor == "postgresql":
        return _aggregate_sql(delivered)
    return _aggregate_python(delivered)


def aggregate(as_of: dt.datetime, *, requires_matching: bool = True) -> tuple[dict[str, Any], dict[str, Any]]:
    return aggregate_rows(_delivered_rows(as_of, requires_matching))


ROUTES: tuple[str, ...] = tuple(Route.values)
#: The key of a population's forecast baseline that holds one baseline per route.
ROUTES_KEY = "routes"


def forecast_baseline(as_of: dt.datetime, *, requires_matching: bool,
                      overall: tuple[dict[str, Any], dict[str, Any]] | None = None) -> dict[str, Any]:
    """The forecast baseline of a population (rule 6: "from delivered requests of the same route
    and matching need"): its stage medians and count of delivered requests, and under
    ROUTES_KEY the same per route (``rules.stage_medians`` of the population's requests of that
    route delivered by ``as_of``). What DelayBaseline stores, and what the report uses live.
    ``overall``: the population's ``aggregate`` at ``as_of`` when the caller already has it."""
    delivered = _delivered_rows(as_of, requires_matching)
    access, stats = overall if overall is not None else aggregate_rows(delivered)
    baseline: dict[str, Any] = rules.stage_medians(stats, delivered=access["delivered"])
    routes = {}
    by_route = aggregate_by_route(delivered)
    for route in ROUTES:
        route_access, route_stats = by_route.get(route) or _aggregate_values([0, 0, None, None, *[0, None, None, None] * len(STAGE_FIELDS)])
        routes[route] = rules.stage_medians(route_stats, delivered=route_access["delivered"])
    baseline[ROUTES_KEY] = routes
    return baseline


def route_medians(baseline: Mapping[str, Any], route: str) -> dict[str, float]:
    """The medians the forecast of a request on ``route`` reads from its population's baseline:
    the route's own, empty when none of that route was delivered (or the baseline is older than
    routes: the nightly refresh, an import or ``refresh_delays`` rewrites it)."""
    return dict((baseline.get(ROUTES_KEY) or {}).get(route) or {})


# --- the headline figure ----------------------------------------------------------------
class Headline(TypedDict):
    """The headline figure of a set of delivered requests (unrounded)."""

    delivered: int
    met: int
    #: met / delivered; None when nothing was delivered ("no deliveries"), 0.0 when all were late.
    share: float | None
    #: Institution days (elapsed_days - applicant_days): mean, median, 90th percentile.
    mean_days: float | None
    median_days: float | None
    p90_days: float | None
    #: For reference: the mean of the whole delay, applicant time included (elapsed_days).
    mean_elapsed_days: float | None


class HeadlineQuarter(Headline):
    quarter: str  # "2025-Q2"
    start: dt.date  # first day of the quarter (Paris)
    end: dt.date  # last day of the quarter (Paris)


def delivered_target_rows(as_of: dt.datetime) -> QuerySet[RequestDelay]:
    """The rows the headline is computed over: target requests (``requires_matching``)
    delivered by ``as_of``."""
    return _delivered_rows(as_of, True)


def _headline(delivered: int, met: int, mean: float | None, median: float | None, p90: float | None,
              mean_elapsed: float | None) -> Headline:
    """The headline of ``delivered`` requests, ``met`` of them within the target, from their
    institution days' mean, median and 90th percentile and their elapsed days' mean."""
    return Headline(
        delivered=delivered, met=met, share=met / delivered if delivered else None,
        mean_days=mean, median_days=median, p90_days=p90, mean_elapsed_days=mean_elapsed,
    )


_HEADLINE_SQL = (
    "count(*), count(*) FILTER (WHERE target_met), avg(institution_days), "
    "percentile_cont(0.5) WITHIN GROUP (ORDER BY institution_days), "
    "percentile_cont(0.9) WITHIN GROUP (ORDER BY institution_days), avg(elapsed_days)"
)


def _headline_values(rows: QuerySet[RequestDelay], *extra: str) -> QuerySet[RequestDelay, dict[str, Any]]:
    return (
        rows.filter(delivered_at__isnull=False)
        .annotate(institution_days=F("elapsed_days") - F("applicant_days"))
        .values(*extra, "target_met", "elapsed_days", "institution_days", "delivered_at")
    )


def _headline_of(values: list[tuple[bool | None, float, float]]) -> Headline:
    """The Python twin of ``_HEADLINE_SQL`` over (target_met, elapsed_days, institution_days)."""
    institution = [v[2] for v in values]
    elapsed = [v[1] for v in values]
    return _headline(
        len(values), sum(1 for v in values if v[0]),
        math.fsum(institution) / len(institution) if institution else None,
        rules.percentile_cont(institution, 0.5), rules.percentile_cont(institution, 0.9),
        math.fsum(elapsed) / len(elapsed) if elapsed else None,
    )


def _headline_sql(rows: QuerySet[RequestDelay]) -> Headline:
    try:
        inner, params = _headline_values(rows).query.sql_with_params()
    except EmptyResultSet:  # e.g. rows.none(): nothing delivered
        return _headline(0, 0, None, None, None, None)
    with connections[rows.db].cursor() as cursor:
        cursor.execute(f"SELECT {_HEADLINE_SQL} FROM ({inner}) AS delivered", params)
        return _headline(*cursor.fetchone())


def _headline_python(rows: QuerySet[RequestDelay]) -> Headline:
    return _headline_of([(r["target_met"], r["elapsed_days"], r["institution_days"]) for r in _headline_values(rows)])


def headline(rows: QuerySet[RequestDelay]) -> Headline:
    """The headline figure of ``rows`` (RequestDelay rows; those not delivered are ignored):
    one query, ``percentile_cont`` in SQL on PostgreSQL, the Python twin elsewhere."""
    if connection.vendor == "postgresql":
        return _headline_sql(rows)
    return _headline_python(rows)


def quarter_start(day: dt.date) -> dt.date:
    return dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def _next_quarter(start: dt.date) -> dt.date:
    return dt.date(start.year + 1, 1, 1) if start.month == 10 else dt.date(start.year, start.month + 3, 1)


def quarter_code(start: dt.date) -> str:
    return f"{start.year}-Q{(start.month - 1) // 3 + 1}"


def _by_quarter_sql(rows: QuerySet[RequestDelay]) -> dict[dt.date, Headline]:
    """The headline of each Paris delivery quarter that has deliveries, keyed by its first day."""
    values = _headline_values(
        rows.annotate(quarter=TruncQuarter("delivered_at", tzinfo=PARIS)), "quarter")
    try:
        inner, params = values.query.sql_with_params()
    except EmptyResultSet:
        return {}
    with connections[rows.db].cursor() as cursor:
        # quarter: the Paris wall-clock start of the quarter (timestamp without time zone).
        cursor.execute(f"SELECT quarter::date, {_HEADLINE_SQL} FROM ({inner}) AS delivered "
                       "GROUP BY quarter ORDER BY quarter", params)
        return {quarter: _headline(*figures) for quarter, *figures in cursor.fetchall()}


def _by_quarter_python(rows: QuerySet[RequestDelay]) -> dict[dt.date, Headline]:
    grouped: defaultdict[dt.date, list[tuple[bool | None, float, float]]] = defaultdict(list)
    for r in _headline_values(rows):
        grouped[quarter_start(paris_date(r["delivered_at"]))].append(
            (r["target_met"], r["elapsed_days"], r["institution_days"]))
    return {quarter: _headline_of(values) for quarter, values in sorted(grouped.items())}


def headline_by_quarter(rows: QuerySet[RequestDelay], *, since: dt.date | None = None,
                        through: dt.date | None = None) -> list[HeadlineQuarter]:
    """The headline figure of ``rows`` per Paris quarter of delivery, oldest first, in one query.

    Every quarter from the first to the last is in the list, those without a delivery with
    ``delivered`` 0 and ``share`` None. The series runs from the quarter of ``since`` (default:
    of the first delivery) to the quarter of ``through`` (default: of the last delivery); rows
    delivered outside it are left out. Empty when there is no delivery and no bounds.
    """
    if since is not None:
        rows = rows.filter(delivered_at__gte=start_of_paris_day(quarter_start(since)))
    if through is not None:
        rows = rows.filter(delivered_at__lt=start_of_paris_day(_next_quarter(quarter_start(through))))
    found = _by_quarter_sql(rows) if connection.vendor == "postgresql" else _by_quarter_python(rows)
    return quarter_series(found, since=since, through=through)


def quarter_series(found: Mapping[dt.date, Headline], *, since: dt.date | None = None,
                   through: dt.date | None = None) -> list[HeadlineQuarter]:
    """``headline_by_quarter``'s list from the headline of each quarter with deliveries (keyed by
    its first day): every quarter from the first to the last, the others with nothing delivered."""
    starts = [*found, *(quarter_start(d) for d in (since, through) if d is not None)]
    if not starts:
        return []
    series: list[HeadlineQuarter] = []
    start, last = min(starts), max(starts)
    while start <= last:
        figures = found.get(start) or _headline(0, 0, None, None, None, None)
        following = _next_quarter(start)
        series.append(HeadlineQuarter(quarter=quarter_code(start), start=start,
                                      end=following - dt.timedelta(days=1), **figures))
        start = following
    return series


#: The headline from its figures (delays.summary reads them from the dashboard's summary).
make_headline = _headline


def _r(value: float | None) -> float | None:
    return None if value is None else round(float(value), ROUND)


def headline_from_json(summary: dict[str, Any]) -> Headline:
    """The headline a report's summary holds (``headline_json``'s keys, as ``delay_report`` and
    ``build_report`` write them), back as a Headline: read, not computed again."""
    return _headline(summary["delivered"], summary["met"], summary["mean_institution_days"],
                     summary["median_institution_days"], summary["p90_institution_days"],
                     summary.get("mean_access_days"))


def headline_json(figures: Headline) -> dict[str, Any]:
    """The headline as JSON keys, rounded to 3 decimals: what the dashboard's summary and
    ``headline_quarters``, and ``delay_report``'s summary, say (and their CSV files)."""
    return {
        "delivered": figures["delivered"],
        "met": figures["met"],
        "share_met": _r(figures["share"]),
        "mean_institution_days": _r(figures["mean_days"]),
        "median_institution_days": _r(figures["median_days"]),
        "p90_institution_days": _r(figures["p90_days"]),
    }
