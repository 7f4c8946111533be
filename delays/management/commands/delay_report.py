"""python manage.py delay_report [--as-of DATE_OR_DATETIME] [--format json|text|csv] [--detail]

``--format csv``: one row per submitted request; with ``--detail``, one row per stage visit
(the fields of the JSON ``visits``, docs/delays.md).

The summary's headline (delivered, met, share_met and the institution days' mean, median and
90th percentile) is ``delays.statistics.headline`` over the target requests delivered by
``--as-of`` (``delays.report.build_report``): the figure the dashboard and the weekly email give.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from delays import rules
from delays.report import VISIT_FIELDS, build_report
from hdh_access.db_router import replica_reads
from hdh_access.lib import csvsafe
from hdh_access.lib.cli import parse_as_of


def _cell(value: Any) -> Any:
    """A CSV cell: empty for null, ``true``/``false`` for booleans (as the JSON writes them)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


class Command(BaseCommand):
    help = "Delay report against the target (default 7 months) for projects that need matching."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--as-of", dest="as_of", help="date (00:00 Paris) or date-time; default: now")
        parser.add_argument("--format", dest="fmt", default="json", help="json (default), text or csv")
        parser.add_argument("--detail", action="store_true", help="list every submitted request")

    def handle(self, *args: Any, as_of: str | None = None, fmt: str = "json", detail: bool = False,
               **options: Any) -> None:
        if fmt not in ("json", "text", "csv"):
            raise CommandError(f"--format: unknown format {fmt!r}; use json, text or csv")
        instant = parse_as_of(as_of)
        with replica_reads():  # on the read replica when there is one (hdh_access/db_router.py)
            report = build_report(instant, detail=detail or fmt == "csv")
        if fmt == "json":
            self.stdout.write(json.dumps(report, ensure_ascii=False, indent=2))
        elif fmt == "csv" and detail:
            self._csv_visits(report)
        elif fmt == "csv":
            self._csv(report)
        else:
            self._text(report, detail)

    def _csv(self, report: dict[str, Any]) -> None:
        writer = csvsafe.writer(self.stdout, lineterminator="\n")
        header = ["reference", "state", "requires_matching", "submitted_at", "delivered_at", "deadline",
                  "elapsed_days", "applicant_days", *(f"days_{s}" for s in rules.STAGES), "target_met", "status"]
        writer.writerow(header)
        for app in report["applications"]:
            writer.writerow([
                app["reference"], app["state"], app["requires_matching"], app["submitted_at"],
                app["delivered_at"] or "", app["deadline"], app["elapsed_days"], app["applicant_days"],
                *(app["stage_days"][s] for s in rules.STAGES),
                "" if app["target_met"] is None else app["target_met"], app["status"],
            ])

    def _csv_visits(self, report: dict[str, Any]) -> None:
        """One row per stage visit: the application's reference, then the JSON visit's fields."""
        writer = csvsafe.writer(self.stdout, lineterminator="\n")
        writer.writerow(["reference", *VISIT_FIELDS])
        for app in report["applications"]:
            for visit in app["visits"]:
                writer.writerow([app["reference"], *(_cell(visit[name]) for name in VISIT_FIELDS)])

    def _text(self, report: dict[str, Any], detail: bool) -> None:
        s = report["summary"]
        out = self.stdout.write

        def num(value: float | None, fmt: str = "{:.1f}") -> str:
            return "—" if value is None else fmt.format(value)

        out(f"Delay report as of {report['as_of']} — target {report['target_months']} months "
            "(requests that need matching)")
        out("")
        share = "no deliveries" if s["share_met"] is None else f"{s['share_met'] * 100:.1f} %"
        out(f"Delivered: {s['delivered']}  met: {s['met']}  missed: {s['missed']}  share met: {share}")
        out(f"(met: delivered within {report['target_months']} months of submission, applicant time excluded)")
        out(f"Access delay (days): mean {num(s['mean_access_days'])}  median {num(s['median_access_days'])}")
        out(f"Institution time (days, applicant time excluded): mean {num(s['mean_institution_days'])}  "
            f"median {num(s['median_institution_days'])}  p90 {num(s['p90_institution_days'])}")
        out(f"Open: late {s['late']}  at risk {s['at_risk']}  on track {s['on_track']}")
        out(f"Bottleneck stage: {s['bottleneck_stage'] or '—'}")
        out("")
        out(f"{'stage':<20} {'count':>7} {'mean':>9} {'median':>9} {'p90':>9}")
        for stage, st in report["stages"].items():
            out(f"{stage:<20} {st['count']:>7} {num(st['mean_days']):>9} {num(st['median_days']):>9} "
                f"{num(st['p90_days']):>9}")
        out("")
        out(f"Bottleneck data holder: {s['bottleneck_holder'] or '—'} (after the decision: the most often last "
            "to deliver a multi-holder request)")
        out(f"{'holder':<20} {'delivered':>9} {'median':>9} {'p90':>9} {'open':>6} {'overdue':>8} {'last':>6}")
        for code, h in report["holders"].items():
            out(f"{code:<20} {h['delivered']:>9} {num(h['median_days']):>9} {num(h['p90_days']):>9} "
                f"{h['open']:>6} {h['overdue']:>8} {h['last_to_deliver']:>6}")
        if detail:
            out("")
            out(f"{'reference':<16} {'state':<20} {'submitted':<11} {'deadline':<11} {'elapsed':>8} "
                f"{'applicant':>9} status")
            for app in report["applications"]:
                out(f"{app['reference']:<16} {app['state']:<20} {app['submitted_at'][:10]:<11} "
                    f"{app['deadline']:<11} {app['elapsed_days']:>8.1f} {app['applicant_days']:>9.1f} {app['status']}")
