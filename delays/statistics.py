"""Aggregates over delivered requests: access delay and per-stage statistics as of an instant.

Computed in SQL on PostgreSQL (``percentile_cont``) and in Python on SQLite, from the
materialised RequestDelay rows. The report, the dashboard and the forecast baseline read them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import connection
from django.db.models import QuerySet

from delays import rules
from delays.models import STAGE_FIELDS, RequestDelay


def _delivered_rows(as_of: dt.datetime, requires_matching: bool) -> QuerySet[RequestDelay]:
    return RequestDelay.objects.filter(requires_matching=requires_matching, delivered_at__lte=as_of)


# --- aggregates over delivered requests --------------------------------------------------
_AGG_FIELDS = ["elapsed_days", "target_met", *STAGE_FIELDS.values()]


def _aggregate_sql(delivered: QuerySet[RequestDelay]) -> tuple[dict[str, Any], dict[str, Any]]:
    """One PostgreSQL query over the given rows (the ORM writes the filter, SQL the percentiles)."""
    inner, params = delivered.values(*_AGG_FIELDS).query.sql_with_params()
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
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(parts)} FROM ({inner}) AS delivered", params)
        values = cursor.fetchone()
    access = {"delivered": values[0], "met": values[1], "mean": values[2], "median": values[3]}
    stats = {}
    for index, stage in enumerate(STAGE_FIELDS):
        count, mean, median, p90 = values[4 + 4 * index: 8 + 4 * index]
        stats[stage] = rules.StageStats(count=count, mean_days=mean, median_days=median, p90_days=p90)
    return access, stats


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


def stage_statistics_as_of(as_of: dt.datetime, *, requires_matching: bool = True) -> dict[str, Any]:
    return aggregate(as_of, requires_matching=requires_matching)[1]
