"""Post-decision time split by data holder (issue #15): where the months after the CNIL go.

Every request that reaches contracting has one task per data holder of its datasets
(``access_requests.models.HolderTask``: contract → matching when needed → extraction →
delivered). A task's **days** run from its opening (the request entering contracting,
``HolderTask.created_at``) to its delivery (``delivered_at``). Per holder, as of an instant:

- ``delivered``: tasks delivered by then, with the **median** and **90th percentile** of their days;
- ``open``: tasks opened and not delivered by then (of requests not withdrawn or refused), and
  ``overdue`` among them: past their due date (``HolderTask.due_date``, a Paris date);
- ``last_to_deliver``: multi-holder requests whose every task was delivered by then and whose
  last delivery was this holder's (each of the holders delivering at that last instant): the
  holder the applicant waited for.

The **bottleneck holder** is the one requests wait for: the most often last to deliver (ties: the
higher median, then the higher 90th percentile); before any multi-holder request is delivered, the
one with the highest median.
The report (``delay_report``), the dashboard and the nightly refresh of each holder's typical
duration (``DataHolder.median_delivery_days``, the default of a new task's due date) read these
figures; nothing else computes them. Percentiles are ``percentile_cont`` in SQL on PostgreSQL
and its Python twin (``delays.rules.percentile_cont``) elsewhere, in a fixed number of queries.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from django.db import connection, connections, router
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from access_requests.models import AccessRequest, HolderTask, HolderTaskEvent
from access_requests.workflow import TERMINAL_STATES, State
from catalog.models import DataHolder
from delays import rules
from delays.models import DelaySummary, HolderTaskCount, histogram_day_sql
from hdh_access.lib.dates import paris_date

ROUND = 3
SECONDS_PER_DAY = 86400.0
# Requests whose open tasks no longer wait for anyone (a delivered request is closed, not here).
ABANDONED_STATES = tuple(str(state) for state in TERMINAL_STATES if state != State.CLOSED)


@dataclass(frozen=True)
class HolderFigures:
    holder_id: int
    code: str
    name: str
    delivered: int
    median_days: float | None
    p90_days: float | None
    open: int
    overdue: int
    last_to_deliver: int

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("holder_id")
        for key in ("median_days", "p90_days"):
            data[key] = None if data[key] is None else round(float(data[key]), ROUND)
        return data


def _days(start: dt.datetime, end: dt.datetime | None) -> float:
    assert end is not None  # delivered tasks only
    return (end - start).total_seconds() / SECONDS_PER_DAY


def _tasks(request_ids: QuerySet[Any, Any] | None, holder_id: int | None) -> QuerySet[HolderTask]:
    tasks: QuerySet[HolderTask] = HolderTask.objects.all()
    if request_ids is not None:
        tasks = tasks.filter(request_id__in=request_ids)
    if holder_id is not None:
        tasks = tasks.filter(holder_id=holder_id)
    return tasks


_Holder = tuple[int, str, str]  # id, code, name


def _delivered_percentiles(delivered: QuerySet[HolderTask]) -> dict[_Holder, tuple[int, float | None, float | None]]:
    """Per holder: (count, median days, 90th percentile days) of ``delivered`` tasks."""
    if connection.vendor == "postgresql":
        inner, params = delivered.values("holder_id", "holder__code", "holder__name", "created_at",
                                         "delivered_at").query.sql_with_params()
        days = DAYS_SQL.replace("delivered_at", "t.delivered_at").replace("created_at", "t.created_at")
        sql = (f"SELECT t.holder_id, t.code, t.name, count(*), percentile_cont(0.5) WITHIN GROUP (ORDER BY {days}), "
               f"percentile_cont(0.9) WITHIN GROUP (ORDER BY {days}) "
               f"FROM ({inner}) AS t (holder_id, code, name, created_at, delivered_at) "
               "GROUP BY t.holder_id, t.code, t.name")
        with connections[delivered.db].cursor() as cursor:  # the replica in replica_reads()
            cursor.execute(sql, params)
            return {(pk, code, name): (count, median, p90) for pk, code, name, count, median, p90 in cursor.fetchall()}
    by_holder: defaultdict[_Holder, list[float]] = defaultdict(list)
    for pk, code, name, created, delivered_at in delivered.values_list(
            "holder_id", "holder__code", "holder__name", "created_at", "delivered_at"):
        by_holder[pk, code, name].append(_days(created, delivered_at))
    return {holder: (len(values), rules.percentile_cont(values, 0.5), rules.percentile_cont(values, 0.9))
            for holder, values in by_holder.items()}


#: A delivered task's days, as ``_delivered_percentiles`` sorts them; indexed per holder on
#: PostgreSQL (delays migration 0003, the same expression) for ``_indexed_percentiles``.
DAYS_SQL = "(extract(epoch FROM (delivered_at - created_at)) / 86400.0)"


def _indexed_percentiles(holder_id: int | None) -> dict[_Holder, tuple[int, float | None, float | None]]:
    """``_delivered_percentiles`` of every delivered task (of ``holder_id`` only when given), read
    through the per-holder index of their days: each holder's count, then the values at the
    percentiles' ranks (from the nearer end), interpolated as ``percentile_cont`` does. Two queries."""
    task, holder = HolderTask._meta.db_table, DataHolder._meta.db_table
    only = " AND t.holder_id = %s" if holder_id is not None else ""
    with connections[router.db_for_read(HolderTask)].cursor() as cursor:  # the replica in replica_reads()
        cursor.execute(f"SELECT t.holder_id, h.code, h.name, count(*) FROM {task} t JOIN {holder} h ON h.id = t.holder_id "
                       f"WHERE t.delivered_at IS NOT NULL{only} GROUP BY 1, 2, 3",
                       [holder_id] if holder_id is not None else [])
        holders = {row[0]: (row[0], row[1], row[2], row[3]) for row in cursor.fetchall()}
        wanted = []  # (holder, q, first rank, descending, offset, limit)
        for pk, (*_names, n) in holders.items():
            for q in (0.5, 0.9):
                first, fraction = rules.percentile_position(n, q)
                last = first + 1 if fraction else first
                if last > n - 1 - first:  # nearer the end: read it backwards
                    wanted.append((pk, q, True, n - 1 - last, last - first + 1))
                else:
                    wanted.append((pk, q, False, first, last - first + 1))
        found: dict[tuple[int, float], list[float]] = {}
        if wanted:
            blocks = []
            params: list[Any] = []
            for pk, q, descending, offset, limit in wanted:
                order = "DESC" if descending else "ASC"
                blocks.append(f"(SELECT %s::bigint, %s::float8, array_agg(v) FROM (SELECT {DAYS_SQL} AS v FROM {task} "
                              f"WHERE delivered_at IS NOT NULL AND holder_id = %s ORDER BY {DAYS_SQL} {order} "
                              "OFFSET %s LIMIT %s) AS s)")
                params += [pk, q, pk, offset, limit]
            cursor.execute(" UNION ALL ".join(blocks), params)
            for pk, q, values in cursor.fetchall():
                found[pk, q] = sorted(float(v) for v in values)
    out: dict[_Holder, tuple[int, float | None, float | None]] = {}
    for pk, (_pk, code, name, n) in holders.items():
        figures = []
        for q in (0.5, 0.9):
            _first, fraction = rules.percentile_position(n, q)
            values = found[pk, q]
            figures.append(rules.interpolate(values[0], values[1] if len(values) > 1 else None, fraction))
        out[pk, code, name] = (n, figures[0], figures[1])
    return out


def _last_to_deliver(as_of: dt.datetime, request_ids: QuerySet[Any, Any] | None, holder_id: int | None,
                     delivered: QuerySet[HolderTask]) -> dict[int, int]:
    """Per holder, the multi-holder requests all delivered by ``as_of`` whose last delivery was
    the holder's (holders delivering at that same instant are each counted): one pass over the
    tasks grouped by request on PostgreSQL, correlated subqueries elsewhere."""
    if connection.vendor == "postgresql":
        siblings = _tasks(request_ids, None)
        inner, params = siblings.values("id", "request_id", "holder_id", "created_at", "delivered_at").query.sql_with_params()
        where = " AND t.holder_id = %s" if holder_id is not None else ""
        # Per request: all its tasks delivered by as_of, two or more; then its tasks delivered last.
        sql = (
            f"WITH t (id, request_id, holder_id, created_at, delivered_at) AS NOT MATERIALIZED ({inner}), "
            "r AS (SELECT request_id, max(delivered_at) AS last FROM t GROUP BY request_id HAVING count(*) > 1 "
            "AND count(*) FILTER (WHERE delivered_at IS NULL OR delivered_at > %s) = 0) "
            "SELECT t.holder_id, count(*) FROM t JOIN r ON r.request_id = t.request_id AND t.delivered_at = r.last "
            f"WHERE t.created_at <= %s{where} GROUP BY t.holder_id")
        with connections[router.db_for_read(HolderTask)].cursor() as cursor:  # the replica in replica_reads()
            cursor.execute(sql, [*params, as_of, as_of, *([holder_id] if holder_id is not None else [])])
            return dict(cursor.fetchall())
    siblings = HolderTask.objects.filter(request_id=OuterRef("request_id"))
    last = siblings.filter(delivered_at__lte=as_of).order_by("-delivered_at").values("delivered_at")[:1]
    return dict(
        delivered.filter(Exists(siblings.exclude(pk=OuterRef("pk"))))
        .exclude(Exists(siblings.filter(Q(delivered_at__isnull=True) | Q(delivered_at__gt=as_of))))
        .filter(delivered_at=Subquery(last)).values("holder_id").annotate(n=Count("id")).values_list("holder_id", "n"))


# --- what the dashboard's summary counts (delays.summary): each task as of its request's recompute --
_COUNTS = HolderTaskCount._meta.db_table
SUMMARY_NO_QUARTER = dt.date(1970, 1, 1)  # delays.summary.ALL, also the day count's origin
#: Each task's HolderTaskCount row from the task now: delivered; last to deliver (its request has
#: two tasks or more, every one delivered, and this one delivered at the last instant); open (not
#: delivered, its request neither withdrawn nor refused). ``{where}`` chooses the requests.
COUNT_SQL = (
    f"INSERT INTO {_COUNTS} (task_id, request_id, holder_id, created_at, delivered, day, last, open, due_date) "
    "SELECT t.id, t.request_id, t.holder_id, t.created_at, t.delivered_at IS NOT NULL, "
    f"floor({DAYS_SQL.replace('delivered_at', 't.delivered_at').replace('created_at', 't.created_at')})::integer, "
    "r.tasks > 1 AND r.waiting = 0 AND t.delivered_at = r.last, "
    "t.delivered_at IS NULL AND NOT (a.state = ANY(%s)), t.due_date "
    f"FROM {HolderTask._meta.db_table} t JOIN {AccessRequest._meta.db_table} a ON a.id = t.request_id "
    "JOIN (SELECT request_id, count(*) AS tasks, count(*) FILTER (WHERE delivered_at IS NULL) AS waiting, "
    f"max(delivered_at) AS last FROM {HolderTask._meta.db_table} {{where}} GROUP BY request_id) AS r "
    "ON r.request_id = t.request_id "
    "ON CONFLICT (task_id) DO UPDATE SET request_id = EXCLUDED.request_id, holder_id = EXCLUDED.holder_id, "
    "created_at = EXCLUDED.created_at, delivered = EXCLUDED.delivered, day = EXCLUDED.day, last = EXCLUDED.last, "
    "open = EXCLUDED.open, due_date = EXCLUDED.due_date"
)
#: The columns HOLDER_CONTRIBUTIONS reads (``RETURNING`` them from COUNT_SQL gives its new rows).
COUNT_COLUMNS = "holder_id, delivered, day, last, open, due_date"


#: What the dashboard's summary (``delays.summary``, table DelaySummary) counts of the tasks, from
#: their HolderTaskCount rows (each task as its
#: request's last recompute saw it), ``stage`` the holder's id: delivered by days to delivery
#: (the histogram that locates a percentile's task, read through ``holder_task_days_idx``), last to
#: deliver, and open by due day (days since 1970-01-01; ``NO_DUE_DAY`` without a due date).
#: ``{source}``: the rows counted (HolderTaskCount rows, or those COUNT_SQL returns).
NO_DUE_DAY = 2**31 - 1
HOLDER_MEASURES = ("holder_days", "holder_last", "holder_open")
HOLDER_CONTRIBUTIONS = f"""
WITH c AS ({{source}})
SELECT measure, stage, DATE '{SUMMARY_NO_QUARTER}', day, count(*), 0, 0 FROM (
    SELECT 'holder_days' AS measure, c.holder_id::varchar AS stage, {histogram_day_sql('c.day')} AS day
    FROM c WHERE c.delivered
    UNION ALL
    SELECT 'holder_last', c.holder_id::varchar, 0 FROM c WHERE c.last
    UNION ALL
    SELECT 'holder_open', c.holder_id::varchar, coalesce(c.due_date - DATE '{SUMMARY_NO_QUARTER}', {NO_DUE_DAY})
    FROM c WHERE c.open
) AS contribution
GROUP BY measure, stage, day
"""


def count_tasks(request_ids: Sequence[int] | None = None) -> None:
    """Rewrite the HolderTaskCount rows of these requests' tasks (every task when None) from the
    tasks now: before the summary's rebuild. (A request's recompute runs COUNT_SQL inside the
    summary's own statement, ``delays.summary.after_write``.)"""
    with connection.cursor() as cursor:
        if request_ids is None:
            cursor.execute(f"DELETE FROM {_COUNTS}")
            cursor.execute(COUNT_SQL.format(where=""), [list(ABANDONED_STATES)])
        else:
            ids = sorted(request_ids)
            cursor.execute(f"DELETE FROM {_COUNTS} WHERE request_id = ANY(%s)", [ids])
            cursor.execute(COUNT_SQL.format(where="WHERE request_id = ANY(%s)"), [list(ABANDONED_STATES), ids])


def holder_figures(as_of: dt.datetime | None = None, *, request_ids: QuerySet[Any, Any] | None = None,
                   holder_id: int | None = None) -> list[HolderFigures]:
    """Each holder's figures as of ``as_of`` (default now), over the tasks of ``request_ids``
    (a queryset of request ids; default every request) and of ``holder_id`` only when given.

    Holders appear when they have a task delivered or open then; the slowest median first (holders
    without a delivery last). Without ``request_ids``, from the dashboard's summary (PostgreSQL,
    ``_summary_figures``); a fixed number of queries either way, whatever the number of tasks.
    """
    as_of = as_of or timezone.now()
    today = paris_date(as_of)
    if request_ids is None and _summary_covers(as_of):
        return _sorted(_summary_figures(today, holder_id))
    tasks = _tasks(request_ids, holder_id).filter(created_at__lte=as_of)
    delivered = tasks.filter(delivered_at__lte=as_of)
    if (connection.vendor == "postgresql" and request_ids is None
            and not HolderTask.objects.filter(delivered_at__gt=as_of).exists()):
        percentiles = _indexed_percentiles(holder_id)  # every delivery: through the index
    else:
        percentiles = _delivered_percentiles(delivered)
    is_open = Q(delivered_at__isnull=True) | Q(delivered_at__gt=as_of)
    counts = {(row["holder_id"], row["holder__code"], row["holder__name"]): row for row in (
        tasks.exclude(request__state__in=ABANDONED_STATES).filter(is_open).values("holder_id", "holder__code", "holder__name")
        .annotate(open=Count("id"), overdue=Count("id", filter=Q(due_date__lt=today))))}
    lasts = _last_to_deliver(as_of, request_ids, holder_id, delivered)
    figures = []
    for holder in set(percentiles) | set(counts):
        count, median, p90 = percentiles.get(holder, (0, None, None))
        row = counts.get(holder, {})
        pk, code, name = holder
        figures.append(HolderFigures(
            holder_id=pk, code=code, name=name, delivered=count, median_days=median, p90_days=p90,
            open=row.get("open", 0), overdue=row.get("overdue", 0), last_to_deliver=lasts.get(pk, 0)))
    return _sorted(figures)


def _sorted(figures: list[HolderFigures]) -> list[HolderFigures]:
    """The slowest median first, holders without a delivery last."""
    figures.sort(key=lambda f: (f.median_days is None, -(f.median_days or 0), -(f.p90_days or 0), f.name))
    return figures


def _summary_covers(as_of: dt.datetime) -> bool:
    """Whether the summary's counts are the figures as of ``as_of`` (PostgreSQL): they count every
    task as it is now, so not as of an instant before a delivery or a task's opening. One query."""
    if connection.vendor != "postgresql":
        return False
    with connections[router.db_for_read(HolderTask)].cursor() as cursor:  # the replica in replica_reads()
        cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {HolderTask._meta.db_table} WHERE delivered_at > %s) "
                       f"OR EXISTS (SELECT 1 FROM {_COUNTS} WHERE created_at > %s)", [as_of, as_of])
        return not cursor.fetchone()[0]


def _summary_percentiles(counts: dict[int, int]) -> dict[int, tuple[float | None, float | None]]:
    """Each holder's median and 90th percentile of days (``counts``: its delivered tasks): the
    task at each rank located in the summary's day histogram, read from the index of the days
    (``percentile_cont``'s figures, as ``_indexed_percentiles`` reads them). One query."""
    wanted = []
    for pk, n in counts.items():
        if n:
            wanted += [(pk, rules.percentile_position(n, q)[0]) for q in (0.5, 0.9)]
    if not wanted:
        return {}
    task = HolderTask._meta.db_table
    sql = f"""
    WITH wanted (holder_id, k) AS (VALUES {", ".join(["(%s::bigint, %s::bigint)"] * len(wanted))}),
    histogram AS (
        SELECT stage, day, count, sum(count) OVER (PARTITION BY stage ORDER BY day) - count AS before
        FROM {DelaySummary._meta.db_table} WHERE measure = 'holder_days' AND count > 0
    ),
    located AS MATERIALIZED (
        SELECT w.holder_id, w.k, h.day, w.k - h.before AS skip FROM wanted w
        JOIN histogram h ON h.stage = w.holder_id::varchar AND w.k >= h.before AND w.k < h.before + h.count
    )
    SELECT l.holder_id, l.k, x.found FROM located l CROSS JOIN LATERAL (
        SELECT array_agg(v) AS found FROM (SELECT {DAYS_SQL} AS v FROM {task} WHERE delivered_at IS NOT NULL
        AND holder_id = l.holder_id AND {DAYS_SQL} >= l.day ORDER BY {DAYS_SQL} OFFSET l.skip LIMIT 2) AS s) AS x
    """
    with connections[router.db_for_read(HolderTask)].cursor() as cursor:  # the replica in replica_reads()
        cursor.execute(sql, [value for row in wanted for value in row])
        found = {(pk, k): [float(v) for v in values or []] for pk, k, values in cursor.fetchall()}
    out: dict[int, tuple[float | None, float | None]] = {}
    for pk, n in counts.items():
        if not n:
            continue
        figures = []
        for q in (0.5, 0.9):
            first, fraction = rules.percentile_position(n, q)
            values = found[pk, first]
            figures.append(rules.interpolate(values[0], values[1] if len(values) > 1 else None, fraction))
        out[pk] = (figures[0], figures[1])
    return out


def _summary_figures(today: dt.date, holder_id: int | None) -> list[HolderFigures]:
    """``holder_figures`` of every task from the summary's counts (``HOLDER_CONTRIBUTIONS``), the
    medians and 90th percentiles through the index of the days: three queries, whatever the number
    of tasks."""
    cutoff = (today - SUMMARY_NO_QUARTER).days
    rows: dict[int, list[int]] = {}
    with connections[router.db_for_read(DelaySummary)].cursor() as cursor:  # the replica in replica_reads()
        cursor.execute(
            "SELECT stage, sum(count) FILTER (WHERE measure = 'holder_days'), "
            "sum(count) FILTER (WHERE measure = 'holder_last'), sum(count) FILTER (WHERE measure = 'holder_open'), "
            "sum(count) FILTER (WHERE measure = 'holder_open' AND day < %s) "
            f"FROM {DelaySummary._meta.db_table} WHERE measure = ANY(%s) AND count <> 0 GROUP BY stage",
            [cutoff, list(HOLDER_MEASURES)])
        for stage, *counts in cursor.fetchall():
            if holder_id is None or int(stage) == holder_id:
                rows[int(stage)] = [int(n or 0) for n in counts]
    names = {pk: (code, name) for pk, code, name in
             DataHolder.objects.filter(pk__in=list(rows)).values_list("pk", "code", "name")}
    percentiles = _summary_percentiles({pk: row[0] for pk, row in rows.items()})
    figures = []
    for pk, (delivered, last, opened, overdue) in rows.items():
        if not delivered and not opened:
            continue
        code, name = names[pk]
        median, p90 = percentiles.get(pk, (None, None))
        figures.append(HolderFigures(holder_id=pk, code=code, name=name, delivered=delivered, median_days=median,
                                     p90_days=p90, open=opened, overdue=overdue, last_to_deliver=last))
    return figures


def bottleneck_holder(figures: Iterable[HolderFigures]) -> HolderFigures | None:
    """The holder requests wait for: the most often last to deliver a multi-holder request (ties:
    the higher median, then 90th percentile); without such a request, the highest median. None
    without deliveries."""
    delivered = [f for f in figures if f.median_days is not None]
    if not delivered:
        return None
    # max keeps the first of equals: ``holder_figures`` lists the slowest first, then by name.
    return max(delivered, key=lambda f: (f.last_to_deliver, f.median_days or 0, f.p90_days or 0))


def refresh_holder_medians(as_of: dt.datetime | None = None) -> int:
    """Store each holder's median days to delivery (whole days, rounded up) on ``DataHolder``: the
    default due date of its next tasks. A holder without a delivered task keeps None (the setting
    HDH_HOLDER_DEFAULT_DAYS applies). Returns how many holders changed."""
    as_of = as_of or timezone.now()
    medians = {pk: median for (pk, _code, _name), (_count, median, _p90)
               in _delivered_percentiles(HolderTask.objects.filter(delivered_at__lte=as_of)).items()}
    changed = 0
    for holder in DataHolder.objects.all():
        median = medians.get(holder.pk)
        value = math.ceil(median) if median is not None else None
        if holder.median_delivery_days != value:
            DataHolder.objects.filter(pk=holder.pk).update(median_delivery_days=value)
            changed += 1
    return changed


# --- each request's tasks, as of an instant (delay_report --detail) ----------------------------
#: The fields of a task in ``delay_report --detail`` (JSON keys of ``holder_tasks``).
TASK_FIELDS = ("holder", "state", "entered_at", "due_date", "overdue", "delivered_at")


def tasks_as_of(as_of: dt.datetime, request_ids: Iterable[int] | None = None) -> dict[int, list[dict[str, Any]]]:
    """Each request's tasks opened by ``as_of``, in holder order, in the state they were in then
    (their event log read up to ``as_of``): one query."""
    today = paris_date(as_of)
    events = HolderTaskEvent.objects.filter(at__lte=as_of)
    if request_ids is not None:
        events = events.filter(task__request_id__in=list(request_ids))
    rows = events.order_by("task__request_id", "task__holder__code", "task_id", "at", "id").values_list(
        "task__request_id", "task_id", "task__holder__code", "to_state", "at", "task__due_date")
    by_task: dict[int, dict[str, Any]] = {}
    by_request: defaultdict[int, list[dict[str, Any]]] = defaultdict(list)
    for request_id, task_id, code, state, at, due_date in rows.iterator(chunk_size=5000):
        task = by_task.get(task_id)
        if task is None:
            task = by_task[task_id] = {"holder": code, "state": state, "entered_at": at, "due_date": due_date,
                                       "delivered_at": None}
            by_request[request_id].append(task)
        elif state != task["state"]:  # same-state rows (assignment, due date) do not move the task
            task["state"], task["entered_at"] = state, at
        if state == State.DELIVERED and task["delivered_at"] is None:
            task["delivered_at"] = at
    for tasks in by_request.values():
        for task in tasks:
            delivered = task["delivered_at"] is not None
            task["overdue"] = bool(not delivered and task["due_date"] and task["due_date"] < today)
            task["entered_at"] = task["entered_at"].isoformat()
            task["due_date"] = task["due_date"].isoformat() if task["due_date"] else None
            task["delivered_at"] = task["delivered_at"].isoformat() if delivered else None
    return dict(by_request)


__all__ = ["HolderFigures", "TASK_FIELDS", "bottleneck_holder", "holder_figures", "refresh_holder_medians",
           "tasks_as_of"]
