"""The weekly delay report email: where the 7-month target is being lost, every Monday.

``build_content`` turns two delay reports (``delay_report.build_report`` at the instant and
one week earlier) into what the email shows: the headline figure for the target population
(projects that need matching) this quarter, last quarter and over all periods, as
``delays.statistics`` defines it for every screen (share of the requests delivered in the period
that were delivered within 7 months, applicant time excluded; mean, median and 90th percentile
of institution days), the bottleneck stage, the per-stage table, the late and at-risk requests
worst first, a chart (PNG, drawn with Pillow) and the detail as CSV.
``queue_weekly_reports`` writes one outbox row per subscriber, keyed by recipient and ISO
week, so a beat that fires twice or a task that runs again queues nothing more.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from access_requests.models import AccessRequest
from access_requests.workflow import State
from accounts.services import can_subscribe_to_weekly_report
from delays import rules
from delays.durations import DAYS_PER_MONTH, in_months
from delays.indicators import build_indicators
from delays.labels import STATUS_LABELS
from delays.report import build_report
from delays.statistics import Headline, delivered_target_rows, headline_by_quarter, headline_from_json, quarter_start
from hdh_access.db_router import replica_reads
from hdh_access.lib.dates import paris_date
from hdh_access.lib.labels import translated
from hdh_access.lib.numbers import figure
from hdh_access.lib.tabular import CSV, Column, write_table
from hdh_access.lib.urls import absolute_reverse
from notifications.messages import language_of, render
from notifications.models import OutboxMessage
from notifications.outbox import Rendered, queue

CHART_CID = "delay-chart"
MAX_LISTED = 20  # late and at-risk requests shown in the email; all of them are in the CSV
CSV_STAGES = rules.STAGES


# --- who ---------------------------------------------------------------------------------
def subscribers():
    """Active users who switched the report on and may see every request (management and
    reviewers): the report names other organisations' requests."""
    perm = Permission.objects.filter(content_type__app_label="access_requests", codename="view_all_requests").first()
    allowed = Q(is_superuser=True)
    if perm is not None:
        allowed |= Q(groups__permissions=perm) | Q(user_permissions=perm)
    candidates = (
        get_user_model().objects.filter(is_active=True, profile__weekly_report=True).exclude(email="")
        .filter(allowed).select_related("profile").distinct().order_by("pk")
    )
    # Data-holder staff read only their own datasets' requests: never the whole report.
    return [user for user in candidates if can_subscribe_to_weekly_report(user)]


def recipients_of(to: list[str] | None = None) -> list[tuple[str, str]]:
    """(address, language) pairs: the subscribers, or the addresses ``to`` (in their owner's
    language when they belong to a user)."""
    if not to:
        return [(user.email, language_of(user)) for user in subscribers()]
    users = {u.email.lower(): u for u in get_user_model().objects.filter(email__in=to).select_related("profile")}
    return [(address, language_of(users.get(address.lower()))) for address in dict.fromkeys(to)]


def iso_week(as_of: dt.datetime) -> str:
    year, week, _day = paris_date(as_of).isocalendar()
    return f"{year}-W{week:02d}"


def message_key(week: str, address: str) -> str:
    """Recipient and ISO week: one report per person and week, whatever runs how often."""
    address = address.strip().lower()
    key = f"weekly-report:{week}:{address}"
    if len(key) > 200:
        key = f"weekly-report:{week}:sha256:{hashlib.sha256(address.encode()).hexdigest()}"
    return key


# --- the figures -------------------------------------------------------------------------
def quarter_label(start: dt.date) -> str:
    return f"T{(start.month - 1) // 3 + 1} {start.year}"


def _parse(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


def _quarters(as_of: dt.datetime) -> tuple[dict, dict]:
    """The headline of last quarter and of this quarter up to ``as_of`` (Paris delivery quarters)."""
    today = paris_date(as_of)
    last, this = headline_by_quarter(delivered_target_rows(as_of), since=quarter_start(today) - relativedelta(months=3),
                                     through=today)
    return ({**last, "label": quarter_label(last["start"])},
            {**this, "label": quarter_label(this["start"]), "end": today})


def _delta(now, before):
    return None if now is None or before is None else now - before


@dataclass
class Content:
    as_of: dt.datetime
    week: str
    target_months: int
    target_days: float
    this_quarter: dict
    last_quarter: dict
    #: The headline over all periods, now and one week earlier (delays.statistics.headline).
    all_time: Headline
    all_time_before: Headline
    summary: dict
    previous: dict
    changes: dict
    bottleneck: dict | None
    stages: list[dict]
    problems: list[dict]
    problems_total: int
    applications: list[dict] = field(repr=False)
    #: The roadmap's indicators (delays.indicators, as /indicateurs/ shows them), from this report.
    indicators: dict = field(default_factory=dict, repr=False)

    @property
    def week_monday(self) -> dt.date:
        year, week = self.week.split("-W")
        return dt.date.fromisocalendar(int(year), int(week), 1)


def build_content(as_of: dt.datetime) -> Content:
    """Everything the report says as of ``as_of``, compared with one week earlier."""
    report = build_report(as_of, detail=True)
    previous = build_report(as_of - dt.timedelta(days=7))
    apps = []
    for app in report["applications"]:
        apps.append({**app, "submitted_at": _parse(app["submitted_at"]), "delivered_at": _parse(app["delivered_at"]),
                     "deadline": dt.date.fromisoformat(app["deadline"]), "forecast_at": _parse(app["forecast_at"])})
    target = [a for a in apps if a["requires_matching"]]
    today = paris_date(as_of)
    last_quarter, this_quarter = _quarters(as_of)
    # The reports' summaries hold the headline (build_report): read it, do not compute it again.
    all_time, all_time_before = headline_from_json(report["summary"]), headline_from_json(previous["summary"])
    summary, before = report["summary"], previous["summary"]
    changes = {
        "share_points": _delta(*(None if h["share"] is None else h["share"] * 100 for h in (all_time, all_time_before))),
        "mean_days": _delta(all_time["mean_days"], all_time_before["mean_days"]),
        "late": summary["late"] - before["late"],
        "at_risk": summary["at_risk"] - before["at_risk"],
        "delivered": all_time["delivered"] - all_time_before["delivered"],
    }
    bottleneck_code = summary["bottleneck_stage"]
    stages = []
    for code, stat in report["stages"].items():
        stages.append({"code": code, "label": State(code).label, "applicant": code == rules.AWAITING_APPLICANT,
                       "bottleneck": code == bottleneck_code, **stat})
    bottleneck = next((s for s in stages if s["bottleneck"]), None)
    problems = _problems(target, today)
    return Content(
        as_of=as_of, week=iso_week(as_of), target_months=report["target_months"],
        target_days=report["target_months"] * DAYS_PER_MONTH,
        this_quarter=this_quarter, last_quarter=last_quarter, all_time=all_time, all_time_before=all_time_before,
        summary=summary, previous=before, changes=changes, bottleneck=bottleneck, stages=stages,
        problems=_with_titles(problems[:MAX_LISTED]), problems_total=len(problems), applications=apps,
        indicators=build_indicators(as_of, report=report),
    )


def _problems(target: list[dict], today: dt.date) -> list[dict]:
    """Late, then at-risk requests, each worst first (by days past, or forecast past, the deadline)."""
    rows = []
    for app in target:
        if app["status"] == rules.STATUS_LATE:
            overrun = (today - app["deadline"]).days
        elif app["status"] == rules.STATUS_AT_RISK and app["forecast_at"] is not None:
            overrun = (paris_date(app["forecast_at"]) - app["deadline"]).days
        else:
            continue
        rows.append({
            **app, "late": app["status"] == rules.STATUS_LATE, "overrun_days": overrun,
            "state_label": State(app["state"]).label if app["state"] in State.values else app["state"],
            "url": absolute_reverse("backoffice:detail", app["reference"]),
            "forecast_date": paris_date(app["forecast_at"]) if app["forecast_at"] else None,
            "submitted_date": paris_date(app["submitted_at"]),
            "elapsed_months": in_months(app["elapsed_days"], None),
        })
    rows.sort(key=lambda r: (not r["late"], -r["overrun_days"], r["reference"]))
    return rows


def _with_titles(rows: list[dict]) -> list[dict]:
    titles = dict(AccessRequest.objects.filter(reference__in=[r["reference"] for r in rows])
                  .values_list("reference", "title"))
    return [{**r, "title": titles.get(r["reference"], "")} for r in rows]


def roadmap_rows(indicators: dict) -> list[dict]:
    """The roadmap's indicators as the email lists them, in the active language: each figure, its
    target, its last quarter end and how it is computed (the public page says more)."""
    if not indicators:
        return []
    projects, delay, share = indicators["projects"], indicators["delay"], indicators["share"]
    partnerships, civil = indicators["partnerships"], indicators["civil_society"]
    months = delay["target_months"]

    def last(trend: list[dict], key: str = "value", convert: Callable[[float], float | None] = float,
             digits: int = 0) -> str:
        """The trend's last figure (at the last quarter's end), converted, as the email writes it."""
        value = trend[-1][key] if trend else None
        return figure(None if value is None else convert(value), digits)

    return [
        {"title": _("Projets utilisant la plateforme par an"),
         "value": _("%(n)s en %(year)s, %(last)s en %(previous)s") % {
             "n": figure(projects["value"]), "year": projects["year"], "last": figure(projects["last_year"]),
             "previous": projects["year"] - 1},
         "target": _("Objectif : %(n)s projets par an") % {"n": figure(projects["target"])},
         "trend": _("%(value)s sur les 12 mois à la dernière fin de trimestre") % {"value": last(projects["trend"])},
         "how": _("Projets dont les données ont été mises à disposition dans l'année civile, tous parcours.")},
        {"title": _("Délai moyen entre le dépôt et la mise à disposition des données, projets avec appariement"),
         "value": _("%(mean)s mois (médiane %(median)s, 90e centile %(p90)s)") % {
             "mean": figure(in_months(delay["mean_days"]), 1), "median": figure(in_months(delay["median_days"]), 1),
             "p90": figure(in_months(delay["p90_days"]), 1)},
         "target": _("Objectif : %(months)s mois en moyenne") % {"months": months},
         "trend": _("%(value)s mois à la dernière fin de trimestre") % {
             "value": last(delay["trend"], "mean_days", in_months, 1)},
         "how": _("Du dépôt à la mise à disposition, moins le temps passé à attendre le demandeur ; projets livrés.")},
        {"title": _("Part des projets livrés dans les %(months)s mois") % {"months": months},
         "value": _("%(share)s %% (%(met)s sur %(n)s)") % {
             "share": figure(None if share["value"] is None else share["value"] * 100), "met": figure(share["met"]),
             "n": figure(share["delivered"])},
         "target": _("Objectif : livrer dans les %(months)s mois") % {"months": months},
         "trend": _("%(value)s %% à la dernière fin de trimestre") % {"value": last(share["trend"], convert=lambda share: share * 100)},
         "how": _("Projets avec appariement livrés dans les %(months)s mois, de date à date, temps du demandeur "
                  "retiré.") % {"months": months}},
        {"title": _("Nouveaux partenariats avec des infrastructures de données"),
         "value": _("%(n)s depuis %(year)s") % {"n": figure(partnerships["value"]), "year": partnerships["since"]},
         "target": _("Objectif : %(n)s et plus") % {"n": figure(partnerships["target"])},
         "trend": _("%(value)s à la dernière fin de trimestre") % {"value": last(partnerships["trend"])},
         "how": _("Enregistrés par le secrétariat du HDH à leur date de signature.")},
        {"title": _("Échanges avec la société civile"),
         "value": _("%(n)s en %(year)s") % {"n": figure(civil["value"]), "year": civil["year"]},
         "target": _("Objectif : %(factor)s fois %(baseline_year)s (%(target)s)") % {
             "factor": civil["factor"], "baseline_year": civil["baseline_year"], "target": figure(civil["target"])},
         "trend": _("%(value)s sur les 12 mois à la dernière fin de trimestre") % {"value": last(civil["trend"])},
         "how": _("Événements enregistrés par le secrétariat du HDH, par année civile.")},
    ]


# --- the attachment ----------------------------------------------------------------------
def csv_bytes(content: Content, *, language: str) -> bytes:
    """Every submitted request as of the report, as a spreadsheet opens it (hdh_access.lib.tabular:
    UTF-8 with a BOM, ``;``, headers, states and statuses in ``language``): the figures of
    ``delay_report --format csv`` (whose file stays machine-readable), plus the forecast and a link."""
    with translation.override(language):
        columns = [
            Column(_("Référence"), 16), Column(_("État"), 24), Column(_("Appariement nécessaire"), 12),
            Column(_("Déposée le"), 17), Column(_("Mise à disposition le"), 17),
            Column(_("Date limite de l'objectif"), 14), Column(_("Durée écoulée (jours)"), 12),
            Column(_("Temps du demandeur (jours)"), 12),
            *(Column(_("Jours : %(stage)s") % {"stage": _state_label(s)}, 12) for s in CSV_STAGES),
            Column(_("Objectif tenu"), 10), Column(_("Situation par rapport à l'objectif"), 20), Column(_("Mise à disposition prévue le"), 17),
            Column(_("Lien"), 50),
        ]
        states, statuses = translated(State.choices), translated(STATUS_LABELS)
        rows = ([
            app["reference"], states.get(app["state"], app["state"]), app["requires_matching"], app["submitted_at"],
            app["delivered_at"], app["deadline"], app["elapsed_days"], app["applicant_days"],
            *(app["stage_days"][s] for s in CSV_STAGES), app["target_met"],
            statuses.get(app["status"], app["status"]), app["forecast_at"],
            absolute_reverse("backoffice:detail", app["reference"]),
        ] for app in content.applications)
        return b"".join(write_table(rows, columns, format=CSV))


def _state_label(code: str) -> str:
    return str(State(code).label) if code in State.values else code


# --- the chart ---------------------------------------------------------------------------
_FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu"))


@lru_cache(maxsize=8)
def _font(size: int, bold: bool = False):
    from PIL import ImageFont

    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    for folder in _FONT_DIRS:
        if (folder / name).exists():
            return ImageFont.truetype(str(folder / name), size)
    return ImageFont.load_default(size=size)  # Pillow's own font: no system font needed


def _nice_step(maximum: float) -> float:
    raw = maximum / 5 if maximum > 0 else 1
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= factor * magnitude:
            return factor * magnitude
    return 10 * magnitude  # pragma: no cover


def chart_png(content: Content) -> bytes:
    """Per-stage median and 90th percentile of days (delivered target requests), as a PNG
    drawn at twice its display size (640 px) so it stays sharp on high-density screens.
    Labels are in the active language."""
    from PIL import Image, ImageDraw

    scale = 2
    width = 640 * scale
    label_w, right_pad, top = 200 * scale, 56 * scale, 40 * scale
    row_h, bar_h = 40 * scale, 12 * scale
    height = top + row_h * len(content.stages) + 34 * scale
    image = Image.new("RGB", (width, height), "#ffffff")
    draw = ImageDraw.Draw(image)
    blue, light, grey, red, text = "#000091", "#8585f6", "#929292", "#ce0500", "#161616"
    legend_y = 4 * scale
    x: float = 0
    for colour, label in ((blue, _("médiane")), (light, _("90e centile"))):
        draw.rectangle((x, legend_y + 2 * scale, x + 12 * scale, legend_y + 14 * scale), fill=colour)
        draw.text((x + 18 * scale, legend_y), label, font=_font(12 * scale), fill=text)
        x += 18 * scale + draw.textlength(label, font=_font(12 * scale)) + 24 * scale
    values = [v for s in content.stages for v in (s["median_days"], s["p90_days"]) if v is not None]
    plot_x0, plot_x1 = label_w, width - right_pad
    bottom = top + row_h * len(content.stages)
    if not values:
        draw.text((plot_x0, top + 10 * scale), _("Aucune demande livrée à ce jour."), font=_font(13 * scale), fill=grey)
        return _png(image)
    step = _nice_step(max(values))
    axis_max = step * math.ceil(max(values) / step)

    def to_x(days: float) -> float:
        return plot_x0 + (plot_x1 - plot_x0) * days / axis_max

    tick = 0.0
    while tick <= axis_max + 1e-9:
        gx = to_x(tick)
        draw.line((gx, top - 4 * scale, gx, bottom), fill="#e5e5e5", width=scale)
        label = number_format(round(tick), 0)
        tw = draw.textlength(label, font=_font(11 * scale))
        draw.text((gx - tw / 2, bottom + 6 * scale), label, font=_font(11 * scale), fill=grey)
        tick += step
    for index, stage in enumerate(content.stages):
        y = top + index * row_h
        colour = red if stage["bottleneck"] else (grey if stage["applicant"] else text)
        label = str(stage["label"])
        font = _font(12 * scale, stage["bottleneck"])
        while draw.textlength(label, font=font) > label_w - 12 * scale and len(label) > 4:
            label = label[:-2] + "…"
        draw.text((0, y + row_h / 2 - 9 * scale), label, font=font, fill=colour)
        for offset, key, fill in ((2 * scale, "median_days", blue), (2 * scale + bar_h + 2 * scale, "p90_days", light)):
            value = stage[key]
            if value is None:
                continue
            bar_fill = grey if stage["applicant"] and fill == blue else ("#c9c9c9" if stage["applicant"] else fill)
            x1 = max(to_x(value), plot_x0 + scale)
            draw.rectangle((plot_x0, y + offset + 4 * scale, x1, y + offset + 4 * scale + bar_h), fill=bar_fill)
            draw.text((x1 + 4 * scale, y + offset + 3 * scale), number_format(round(value), 0),
                      font=_font(10 * scale), fill=text)
        if stage["median_days"] is None and stage["p90_days"] is None:
            draw.text((plot_x0 + 8 * scale, y + row_h / 2 - 8 * scale), _("aucune donnée"), font=_font(11 * scale),
                      fill=grey)
    draw.line((plot_x0, top - 4 * scale, plot_x0, bottom), fill="#929292", width=scale)
    unit = _("jours")
    draw.text((plot_x1 + 14 * scale, bottom + 6 * scale), unit, font=_font(11 * scale), fill=grey)
    return _png(image)


def _png(image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


# --- the email ---------------------------------------------------------------------------
def render_report(content: Content, *, language: str) -> tuple[Rendered, bytes, str]:
    """(subject/text/HTML, chart PNG, CSV file name) in ``language``."""
    with translation.override(language):
        chart = chart_png(content)
        roadmap = roadmap_rows(content.indicators)
        filename = _("rapport-delais-%(week)s.csv") % {"week": content.week}
    context = {
        "c": content, "chart_cid": CHART_CID, "roadmap": roadmap, "target_months": content.target_months,
        "share_this": _percent(content.this_quarter["share"]), "share_last": _percent(content.last_quarter["share"]),
        "share_all": _percent(content.all_time["share"]), "h": content.all_time,
        "more": content.problems_total - len(content.problems),
        "profile_url": absolute_reverse("accounts:profile"),
        "indicators_url": absolute_reverse("directory:indicators"),
        "mean_months": in_months(content.all_time["mean_days"], None),
        "mean_over_target": None if content.all_time["mean_days"] is None
        else content.all_time["mean_days"] > content.target_days,
    }
    return render("weekly_report", context, language=language), chart, filename


def _percent(share: float | None) -> float | None:
    return None if share is None else share * 100


@dataclass
class QueueResult:
    week: str
    created: list[OutboxMessage]
    already: int


def queue_weekly_reports(*, as_of: dt.datetime | None = None, to: list[str] | None = None) -> QueueResult:
    """Write this week's report for every subscriber (or the addresses ``to``), once each.

    The report is computed only when at least one recipient has not had it this week.
    """
    as_of = as_of or timezone.now()
    week = iso_week(as_of)
    recipients = recipients_of(to)
    keys = {address: message_key(week, address) for address, _language in recipients}
    existing = set(OutboxMessage.objects.filter(key__in=keys.values()).values_list("key", flat=True))
    todo = [(address, language) for address, language in recipients if keys[address] not in existing]
    created: list[OutboxMessage] = []
    if todo:
        with replica_reads():  # figures only: on the read replica when there is one
            content = build_content(as_of)
        by_language: dict[str, tuple[Rendered, bytes, str, bytes]] = {}
        with transaction.atomic():
            for address, language in todo:
                if language not in by_language:
                    by_language[language] = (*render_report(content, language=language),
                                             csv_bytes(content, language=language))
                rendered, chart, filename, attachment = by_language[language]
                row, was_created = queue(key=keys[address], to=address, language=language, rendered=rendered,
                                         attachment=(filename, "text/csv", attachment),
                                         inline_image=(CHART_CID, chart))
                if was_created:
                    created.append(row)
    return QueueResult(week=week, created=created, already=len(recipients) - len(created))


def preview(*, as_of: dt.datetime | None = None, languages: list[str] | None = None) -> dict[str, Rendered]:
    """The report as it would be sent, per language, without writing anything (--dry-run)."""
    content = build_content(as_of or timezone.now())
    return {language: render_report(content, language=language)[0]
            for language in (languages or [settings.LANGUAGE_CODE])}
