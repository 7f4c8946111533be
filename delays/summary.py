"""The dashboard's figures maintained incrementally (PostgreSQL): the DelaySummary table.

Computing the dashboard from every RequestDelay row costs time proportional to the number of
requests (percentiles over every delivered request, quarterly GROUP BYs). The summary holds the
same figures as counts and sums, moved by each recompute of a request in the transaction that
writes its row: its old contribution out, its new one in (``track``), so that reading them costs
the same at 100,000 requests as at 1,000. ``rebuild_summary`` computes it from scratch (after an
import, ``refresh_delays --all``, the migration that created it); both use one definition of a
row's contribution, ``_CONTRIBUTIONS``, so an incremental update and a rebuild agree exactly
(sums are ``numeric``, each value rounded to 12 decimals first).

What each ``measure`` holds (target: requests that need matching; delivered target rows are
the ones the statistics read, ``models.TARGET_DELIVERED``):

=================  ============================  ====================================================
measure            key (stage, quarter, day)     count / total / met
=================  ============================  ====================================================
``stage``          stage, ALL, day bucket        delivered target rows with time in the stage (> 0);
                                                 total: their days in it
``elapsed``        "", ALL, day bucket           delivered target rows; total: elapsed days; met:
                                                 within the target
``institution``    "", ALL, day bucket           the same by institution days (elapsed − applicant)
``quarter``        "", delivery quarter, days    the same by Paris quarter of delivery
``quarter_access`` "", delivery quarter, 0       total: elapsed days, per Paris delivery quarter
``cohort``         "", submission quarter, 0/1   target rows (day 1: delivered; met: within target)
``open``,          current stage, submission     open rows (``ended_at`` null) by deadline day
``open_at_risk``,  quarter, days since           (1970-01-01): target ones, at risk or not, and
``open_other``     1970-01-01 of the deadline    those outside the target population
``holder_days``    holder id, ALL, day bucket    the holder's delivered tasks by days to delivery
``holder_last``    holder id, ALL, 0             its tasks last to deliver a multi-holder request
``holder_open``    holder id, ALL, due day       its open tasks by due date (days since 1970-01-01)
=================  ============================  ====================================================

A day bucket is ``models.HISTOGRAM_DAYS`` days wide (``day`` its first day). The holders' measures
(``delays.holders.HOLDER_CONTRIBUTIONS``) count each task as its request's last recompute saw it
(a HolderTaskCount row, rewritten by the same transaction).

ALL is 1970-01-01 (no quarter). The day histograms locate a percentile's row: the figure is then
read exactly from that row through a partial index (``models._value_indexes``), so the medians
and 90th percentiles are ``percentile_cont``'s to the last digit, as the report computes them.

Only what the dashboard shows without filters is here (filters by submission day, dataset or
data holder read the rows, and the cache keeps them); SQLite reads the rows too.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from django.db import connection, connections, router, transaction

from delays import rules
from delays.holders import (
    ABANDONED_STATES,
    COUNT_COLUMNS,
    COUNT_SQL,
    HOLDER_CONTRIBUTIONS,
    HOLDER_MEASURES,
    count_tasks,
)
from delays.models import STAGE_FIELDS, DelaySummary, HolderTaskCount, RequestDelay, histogram_day_sql
from hdh_access.lib.dates import PARIS

ALL = dt.date(1970, 1, 1)
EPOCH = dt.date(1970, 1, 1)
OPEN_MEASURES = ("open", "open_at_risk", "open_other")
_TABLE = DelaySummary._meta.db_table
_ROWS = RequestDelay._meta.db_table
_COUNTS = HolderTaskCount._meta.db_table
_QUARTER = "date_trunc('quarter', d.{column} AT TIME ZONE '" + PARIS.key + "')"
_DELIVERED = "d.requires_matching AND d.delivered_at IS NOT NULL"
_INSTITUTION = "(d.elapsed_days - d.applicant_days)"
_STAGE_VALUES = ", ".join(f"('{stage}', d.{field})" for stage, field in STAGE_FIELDS.items())
_COLUMNS = ("request_id", "requires_matching", "submitted_at", "delivered_at", "ended_at", "deadline",
            "elapsed_days", "applicant_days", "target_met", "status", "current_stage", *STAGE_FIELDS.values())


def _value(expression: str) -> str:
    return f"round(CAST({expression} AS numeric), 12)"


#: Each row's contribution, summed by key: ``{where}`` chooses the rows (none: all of them).
_CONTRIBUTIONS = f"""
WITH d AS (SELECT {", ".join(_COLUMNS)} FROM {_ROWS} {{where}})
SELECT measure, stage, quarter, day, count(*), coalesce(sum(value), 0), count(*) FILTER (WHERE met)
FROM (
    SELECT 'stage' AS measure, s.stage, DATE '{ALL}' AS quarter, {histogram_day_sql('s.days')} AS day,
           {_value("s.days")} AS value, false AS met
    FROM d CROSS JOIN LATERAL (VALUES {_STAGE_VALUES}) AS s (stage, days)
    WHERE {_DELIVERED} AND s.days > 0
    UNION ALL
    SELECT m.measure, '', DATE '{ALL}', {histogram_day_sql('m.days')}, {_value("m.days")}, coalesce(d.target_met, false)
    FROM d CROSS JOIN LATERAL (VALUES ('elapsed', d.elapsed_days), ('institution', {_INSTITUTION})) AS m (measure, days)
    WHERE {_DELIVERED}
    UNION ALL
    SELECT 'quarter', '', {_QUARTER.format(column="delivered_at")}::date, {histogram_day_sql(_INSTITUTION)},
           {_value(_INSTITUTION)}, coalesce(d.target_met, false)
    FROM d WHERE {_DELIVERED}
    UNION ALL
    SELECT 'quarter_access', '', {_QUARTER.format(column="delivered_at")}::date, 0, {_value("d.elapsed_days")}, false
    FROM d WHERE {_DELIVERED}
    UNION ALL
    SELECT 'cohort', '', {_QUARTER.format(column="submitted_at")}::date,
           CASE WHEN d.delivered_at IS NULL THEN 0 ELSE 1 END, 0,
           d.delivered_at IS NOT NULL AND coalesce(d.target_met, false)
    FROM d WHERE d.requires_matching
    UNION ALL
    SELECT CASE WHEN NOT d.requires_matching THEN 'open_other'
                WHEN d.status = '{rules.STATUS_AT_RISK}' THEN 'open_at_risk' ELSE 'open' END,
           d.current_stage, {_QUARTER.format(column="submitted_at")}::date, d.deadline - DATE '{EPOCH}', 0, false
    FROM d WHERE d.ended_at IS NULL
) AS contribution
GROUP BY measure, stage, quarter, day
"""

def _contribution_sql(filtered: bool, counted: str | None = None) -> str:
    """Every contribution of the requests given as the first parameters (all when not
    ``filtered``): their rows' and their tasks' (from the CTE ``counted`` when given, else from
    their HolderTaskCount rows: one parameter more)."""
    tasks = f"SELECT * FROM {counted}" if counted else (
        f"SELECT {COUNT_COLUMNS} FROM {_COUNTS}" + (" WHERE request_id = ANY(%s)" if filtered else ""))
    return ("(" + _CONTRIBUTIONS.format(where="WHERE request_id = ANY(%s)" if filtered else "") + ") UNION ALL ("
            + HOLDER_CONTRIBUTIONS.format(source=tasks) + ")")


Key = tuple[str, str, dt.date, int]
Contribution = dict[Key, tuple[int, Decimal, int]]


def enabled() -> bool:
    """The summary is kept and read on PostgreSQL only."""
    return connection.vendor == "postgresql"


def covers(as_of: dt.datetime) -> bool:
    """Whether the summary gives the figures as of ``as_of``: it counts every delivery, so not
    as of an instant before one of them (a report replayed in the past reads the rows)."""
    return enabled() and not RequestDelay.objects.filter(delivered_at__gt=as_of).exists()


def _contributions(request_ids: Sequence[int]) -> Contribution:
    with connection.cursor() as cursor:
        cursor.execute(_contribution_sql(True), [list(request_ids)] * 2)
        return {(m, s, q, d): (n, total, met) for m, s, q, d, n, total, met in cursor.fetchall()}


def before_write(request_ids: Sequence[int]) -> Contribution | None:
    """Inside the transaction that rewrites these requests' rows, before it does, the requests'
    rows locked (``materialise.build_rows(lock=True)``: two recomputes of one request take turns,
    so neither moves a contribution the other already moved): what their rows contribute now.
    None when the summary is not kept."""
    if not enabled() or not request_ids:
        return None
    return _contributions(sorted(request_ids))


def after_write(request_ids: Sequence[int], before: Contribution | None) -> None:
    """In the same transaction, once the rows are written: move the difference into the summary
    (one statement, in key order: concurrent recomputes lock the summary's rows in that order)."""
    if before is None:
        return
    old = [(*key, -n, -total, -met) for key, (n, total, met) in before.items()]
    values = ", ".join(["(%s::varchar, %s::varchar, %s::date, %s::integer, %s::bigint, %s::numeric, %s::bigint)"]
                       * len(old))
    removed = f" UNION ALL (VALUES {values})" if old else ""
    with connection.cursor() as cursor:
        cursor.execute(
            # The tasks' HolderTaskCount rows rewritten as they are now (delays.holders), counted as returned.
            f"WITH counted AS ({COUNT_SQL.format(where='WHERE request_id = ANY(%s)')} RETURNING {COUNT_COLUMNS}) "
            f"INSERT INTO {_TABLE} AS t (measure, stage, quarter, day, count, total, met) "
            f"SELECT measure, stage, quarter, day, sum(n), sum(total), sum(met) FROM (("
            + _contribution_sql(True, "counted")
            + f"){removed}) AS moved (measure, stage, quarter, day, n, total, met) GROUP BY 1, 2, 3, 4 "
            "HAVING sum(n) <> 0 OR sum(total) <> 0 OR sum(met) <> 0 ORDER BY 1, 2, 3, 4 "
            "ON CONFLICT (measure, stage, quarter, day) DO UPDATE SET count = t.count + EXCLUDED.count, "
            "total = t.total + EXCLUDED.total, met = t.met + EXCLUDED.met",
            [list(ABANDONED_STATES), sorted(request_ids), sorted(request_ids), *(value for row in old for value in row)])


def rebuild_summary() -> None:
    """Recompute the whole summary from the RequestDelay rows (after an import or a full
    re-materialisation). Concurrent recomputes wait for it, then move their rows on top of it."""
    if not enabled():
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {_TABLE} IN EXCLUSIVE MODE")
        cursor.execute(f"DELETE FROM {_TABLE}")
        count_tasks()  # every task as it is now (delays.holders)
        cursor.execute(f"INSERT INTO {_TABLE} (measure, stage, quarter, day, count, total, met) "
                       + _contribution_sql(False))


def snapshot() -> dict[Key, tuple[int, Decimal, int]]:
    """Every non-empty row of the summary (tests compare an incremental one with a rebuild)."""
    return {(r.measure, r.stage, r.quarter, r.day): (r.count, r.total, r.met)
            for r in DelaySummary.objects.exclude(count=0, total=0, met=0)}


# --- reading ------------------------------------------------------------------------------------
def _percentile_values(wanted: Iterable[tuple[str, str, dt.date, int]]) -> dict[tuple[str, str, dt.date, int], list[float]]:
    """The values at 0-based ranks ``k`` (and the next one) among each (measure, stage, quarter)'s
    rows, sorted: located in the summary's day histogram, read from the rows by index. One query."""
    wanted = sorted(set(wanted))
    if not wanted:
        return {}
    values_sql = ", ".join(["(%s, %s, %s::date, %s::bigint)"] * len(wanted))
    blocks = []
    for stage, field in STAGE_FIELDS.items():
        blocks.append((f"l.measure = 'stage' AND l.stage = '{stage}'", f"d.{field}", f"d.{field} > 0"))
    blocks.append(("l.measure = 'elapsed'", "d.elapsed_days", "true"))
    blocks.append(("l.measure = 'institution'", _INSTITUTION, "true"))
    blocks.append(("l.measure = 'quarter'", _INSTITUTION,
                   f"{_QUARTER.format(column='delivered_at')} = l.quarter::timestamp"))
    lookups = " UNION ALL ".join(
        f"SELECT l.measure, l.stage, l.quarter, l.k, x.found FROM located l CROSS JOIN LATERAL ("
        f"SELECT array_agg(v) AS found FROM (SELECT {value} AS v FROM {_ROWS} d WHERE {_DELIVERED} AND {extra} "
        f"AND {value} >= l.day ORDER BY {value} OFFSET l.skip LIMIT 2) AS s) AS x WHERE {where}"
        for where, value, extra in blocks)
    sql = f"""
    WITH wanted (measure, stage, quarter, k) AS (VALUES {values_sql}),
    histogram AS (
        SELECT measure, stage, quarter, day, count,
               sum(count) OVER (PARTITION BY measure, stage, quarter ORDER BY day) - count AS before
        FROM {_TABLE} WHERE count > 0 AND measure IN ('stage', 'elapsed', 'institution', 'quarter')
    ),
    located AS MATERIALIZED (
        SELECT w.measure, w.stage, w.quarter, w.k, h.day, w.k - h.before AS skip
        FROM wanted w JOIN histogram h ON h.measure = w.measure AND h.stage = w.stage AND h.quarter = w.quarter
             AND w.k >= h.before AND w.k < h.before + h.count
    )
    {lookups}
    """
    with connections[router.db_for_read(RequestDelay)].cursor() as cursor:  # the replica in replica_reads()
        cursor.execute(sql, [value for row in wanted for value in row])
        return {(m, s, q, k): list(found or []) for m, s, q, k, found in cursor.fetchall()}


class Figures:
    """The summary's figures as of ``today`` (a Paris date): three queries."""

    def __init__(self, today: dt.date) -> None:
        cutoff = (today - EPOCH).days
        groups: dict[tuple[str, str, dt.date, int], tuple[int, Decimal, int]] = {}
        with connections[router.db_for_read(DelaySummary)].cursor() as cursor:  # the replica in replica_reads()
            # Open rows split by deadline before / on or after today; the cohort by delivered or not.
            cursor.execute(
                f"SELECT measure, stage, quarter, CASE WHEN measure = ANY(%s) THEN (day < %s)::integer "
                f"WHEN measure = 'cohort' THEN day ELSE 0 END AS part, sum(count), sum(total), sum(met) "
                f"FROM {_TABLE} WHERE count <> 0 AND measure <> ALL(%s) GROUP BY 1, 2, 3, 4",
                [list(OPEN_MEASURES), cutoff, list(HOLDER_MEASURES)])  # the holders': delays.holders
            for measure, stage, quarter, part, n, total, met in cursor.fetchall():
                groups[measure, stage, quarter, part] = (int(n), total, int(met))
        self.groups = groups
        self._wanted: dict[tuple[str, str, dt.date], int] = {}
        for (measure, stage, quarter, _part), (n, _total, _met) in groups.items():
            if measure in ("stage", "elapsed", "institution", "quarter") and n > 0:
                self._wanted[measure, stage, quarter] = n
        wanted = []
        for (measure, stage, quarter), n in self._wanted.items():
            for q in (0.5, 0.9):
                first, _fraction = rules.percentile_position(n, q)
                wanted.append((measure, stage, quarter, first))
        self._values = _percentile_values(wanted)

    def _group(self, measure: str, stage: str = "", quarter: dt.date = ALL) -> tuple[int, Decimal, int]:
        return self.groups.get((measure, stage, quarter, 0), (0, Decimal(0), 0))

    def _mean(self, measure: str, stage: str = "", quarter: dt.date = ALL) -> float | None:
        n, total, _met = self._group(measure, stage, quarter)
        return float(total / n) if n else None

    def percentile(self, measure: str, q: float, stage: str = "", quarter: dt.date = ALL) -> float | None:
        n = self._wanted.get((measure, stage, quarter))
        if not n:
            return None
        first, fraction = rules.percentile_position(n, q)
        found = self._values[measure, stage, quarter, first]
        return rules.interpolate(found[0], found[1] if len(found) > 1 else None, fraction)

    def stage_statistics(self) -> dict[str, rules.StageStats]:
        return {stage: rules.StageStats(
            count=self._group("stage", stage)[0], mean_days=self._mean("stage", stage),
            median_days=self.percentile("stage", 0.5, stage), p90_days=self.percentile("stage", 0.9, stage),
        ) for stage in STAGE_FIELDS}

    def access(self) -> dict[str, Any]:
        """``statistics.aggregate_rows``'s access figures."""
        n, _total, met = self._group("elapsed")
        return {"delivered": n, "met": met, "mean": self._mean("elapsed"),
                "median": self.percentile("elapsed", 0.5)}

    def headline(self, quarter: dt.date | None = None) -> tuple[int, int, float | None, float | None, float | None,
                                                              float | None]:
        """(delivered, met, mean, median, p90 of institution days, mean elapsed days): overall, or
        of one Paris delivery quarter."""
        if quarter is None:
            n, _total, met = self._group("institution")
            return (n, met, self._mean("institution"), self.percentile("institution", 0.5),
                    self.percentile("institution", 0.9), self._mean("elapsed"))
        n, _total, met = self._group("quarter", quarter=quarter)
        return (n, met, self._mean("quarter", quarter=quarter), self.percentile("quarter", 0.5, quarter=quarter),
                self.percentile("quarter", 0.9, quarter=quarter), self._mean("quarter_access", quarter=quarter))

    def delivery_quarters(self) -> list[dt.date]:
        return sorted(quarter for (measure, _s, quarter, _p), (n, _t, _m) in self.groups.items()
                      if measure == "quarter" and n)

    def cohorts(self) -> dict[dt.date, dict[str, int]]:
        """Per Paris submission quarter: target requests submitted, delivered, met, open past deadline."""
        out: dict[dt.date, dict[str, int]] = {}
        for (measure, _stage, quarter, part), (n, _total, met) in self.groups.items():
            if measure == "cohort" or (measure in ("open", "open_at_risk") and part == 1):
                row = out.setdefault(quarter, {"submitted": 0, "delivered": 0, "met": 0, "open_past_deadline": 0})
                if measure == "cohort":
                    row["submitted"] += n
                    if part == 1:
                        row["delivered"] += n
                        row["met"] += met
                else:
                    row["open_past_deadline"] += n
        return dict(sorted((q, row) for q, row in out.items() if row["submitted"]))

    def open_segments(self) -> dict[str, dict[str, int]]:
        """Open requests per current stage and segment (late, at_risk, on_track, other)."""
        table: dict[str, dict[str, int]] = {}
        for (measure, stage, _quarter, past), (n, _total, _met) in self.groups.items():
            if measure not in OPEN_MEASURES:
                continue
            segment = ("other" if measure == "open_other" else "late" if past
                       else "at_risk" if measure == "open_at_risk" else "on_track")
            counts = table.setdefault(stage, {})
            counts[segment] = counts.get(segment, 0) + n
        return table
