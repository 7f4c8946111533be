"""The dossier as documents: the receipt PDF, the dossier PDF and the dossier's ZIP.

- **Receipt** ("accusé de réception"): what the request's submission started, as it stood at
  that instant: reference, date and time of submission, each legal period that applies on its
  route with its due date and what the administration's silence decides then, and the 7-month
  target. Every date comes from ``delays.clock`` (the clock at the submission instant, and
  ``RequestClock.periods_ahead`` for the stages after the first); nothing is recomputed here. The
  same receipt comes back whenever it is asked for (the email's attachment at submission, the
  portal's and the back office's link later): it records the submission, not today.
- **Dossier PDF**: every section of the dossier (the fields the portal page shows, from the same
  template), the attachments with their SHA-256 checksums and antivirus status, each stage visit
  with its legal clock, and the history (documents.timeline: roles, never reviewers' names, no
  internal note). One document for the applicant and the reviewers: either may hand it on.
- **ZIP**: the dossier PDF, every attachment that may be downloaded (the antivirus holds none
  back, its bytes still match the checksum recorded at upload) under a safe, unique name, and a
  manifest listing every attachment with its checksum, and which were left out and why. Written
  to a temporary file, one attachment in memory at a time.

Visibility is the caller's (portal and back office selectors); the builders read what the
documents show for a request the caller may see.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import tempfile
import zipfile
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING

from django.db.models import Prefetch, QuerySet
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from access_requests.attachments import EXTENSIONS, safe_name
from access_requests.models import AccessRequest, Attachment, HolderTask, ScanStatus
from access_requests.selectors import attachments_for_applicant, event_log
from access_requests.selectors.clock import clock_policy
from access_requests.workflow import InformationReason, Route, State
from accounts.people import related
from catalog.selectors import dataset_list
from delays import rules
from delays.clock import TACIT_LABELS, RequestClock, request_clock
from documents import timeline
from documents.pdf import render_pdf
from hdh_access.lib.dates import paris_date
from hdh_access.lib.urls import absolute_reverse

if TYPE_CHECKING:  # a lazy translation (django-stubs; a dev dependency)
    from django_stubs_ext import StrPromise

PDF = "application/pdf"
ZIP = "application/zip"
# The receipt and the dossier need no forecast: no baseline is read.
NO_MEDIANS: dict[bool, dict] = {True: {}, False: {}}
# A wait on the applicant, as the documents name it (third person: the applicant and the reviewers read them).
PAUSE_LABEL = gettext_lazy("En attente du demandeur")
# The stages with a legal clock, as the receipt names what happens in them.
PERIOD_TITLES: dict[str, StrPromise] = {
    State.SUBMITTED: gettext_lazy("Vérification que le dossier est complet, par le secrétariat du HDH"),
    State.CESREES_REVIEW: gettext_lazy("Avis scientifique et éthique du CESREES"),
    State.CNIL_REVIEW: gettext_lazy("Autorisation de la CNIL"),
}
ZIP_CHUNK = 1024 * 1024


# --- the request as the documents read it ---------------------------------------------------
def _request_with_datasets() -> QuerySet[AccessRequest]:
    """Requests with their organisation, applicant and datasets: what every document names."""
    return (AccessRequest.objects.select_related("organisation", "applicant", *related("applicant"))
            .prefetch_related(Prefetch("datasets", queryset=dataset_list())))


def receipt_request(pk: int) -> AccessRequest:
    """The request with what its receipt shows (two queries): drawn for every submission's email."""
    return _request_with_datasets().get(pk=pk)


def document_request(pk: int) -> AccessRequest:
    """The request with everything the documents show, in a constant number of queries."""
    return (
        _request_with_datasets()
        .prefetch_related(
            # Never an internal note's documents: the files are the applicant's as much as the reviewers'.
            Prefetch("attachments", queryset=attachments_for_applicant()
                     .select_related("uploaded_by", "message", *related("uploaded_by")).order_by("uploaded_at", "pk")),
            Prefetch("events", queryset=event_log()),
            Prefetch("holder_tasks", queryset=HolderTask.objects.select_related("holder").order_by("holder__name", "pk")),
        )
        .get(pk=pk)
    )


def stage_label(stage: str) -> str:
    return str(PAUSE_LABEL) if stage == State.AWAITING_APPLICANT else timeline.state_label(stage)


def route_label(route: str) -> str:
    return str(Route(route).label) if route in Route.values else route


# --- the receipt ----------------------------------------------------------------------------
def submission_clock(access_request: AccessRequest) -> RequestClock | None:
    """The request's clock as it stood at its submission (None: never submitted): the clock of
    now says when that was, the clock replayed from the events up to then gives its dates."""
    now = request_clock(access_request, timezone.now(), medians=NO_MEDIANS)
    if now is None:
        return None
    return request_clock(access_request, now.submitted_at, medians=NO_MEDIANS, fresh=True)


@dataclass(frozen=True)
class LegalPeriod:
    """One legal period of the receipt: who decides, how long, until when, what silence decides.

    ``expected``: dated as if every stage before it used its whole period (RequestClock.periods_ahead).
    """

    stage: str
    title: str
    length: str
    started_on: dt.date
    due_date: dt.date
    tacit_label: str
    tacit_effect_date: dt.date | None
    needs_express_opinion: bool
    expected: bool


def period_length(stage: str, *, route: str) -> str:
    """A stage's legal period in words, from the deployment's clock policy (delays.rules)."""
    periods = clock_policy().periods
    if stage == State.SUBMITTED:
        if route == Route.SIMPLIFIED:
            days = rules.SIMPLIFIED_COMPLETENESS_DAYS
            return ngettext("%(n)s jour", "%(n)s jours", days) % {"n": days}
        n = periods.completeness_working_days
        return ngettext("%(n)s jour ouvré", "%(n)s jours ouvrés", n) % {"n": n}
    if stage == State.CESREES_REVIEW:
        return _("%(months)s, prolongeable une fois de %(extension)s ; %(urgent)s en procédure d'urgence") % {
            "months": _months(periods.cesrees_months), "extension": _months(periods.cesrees_extension_months),
            "urgent": ngettext("%(n)s jour", "%(n)s jours", rules.URGENT_CESREES_DAYS) % {"n": rules.URGENT_CESREES_DAYS}}
    if stage == State.CNIL_REVIEW:
        return _("%(months)s, renouvelable une fois (%(extension)s)") % {
            "months": _months(periods.cnil_months), "extension": _months(periods.cnil_extension_months)}
    return ""


def _months(n: int) -> str:
    return ngettext("%(n)s mois", "%(n)s mois", n) % {"n": n}


def legal_periods(clock: RequestClock) -> list[LegalPeriod]:
    """The legal periods that apply from the clock's instant: the open stage's (its due date as
    the clock reads it), then those still ahead on the route (RequestClock.periods_ahead)."""
    visit = clock.current_visit
    if visit is None or visit.due_date is None:
        return []
    out = [LegalPeriod(
        stage=visit.stage, title=str(PERIOD_TITLES.get(visit.stage, stage_label(visit.stage))),
        length=period_length(visit.stage, route=clock.route), started_on=paris_date(visit.entered_at),
        due_date=visit.due_date, tacit_label=visit.tacit_label if visit.tacit_decision else "",
        tacit_effect_date=visit.tacit_effect_date, needs_express_opinion=False, expected=False)]
    for period in clock.periods_ahead():
        out.append(LegalPeriod(
            stage=period.stage, title=str(PERIOD_TITLES.get(period.stage, stage_label(period.stage))),
            length=period_length(period.stage, route=clock.route), started_on=period.started_on,
            due_date=period.due_date,
            tacit_label=str(TACIT_LABELS.get(period.tacit_decision, "")) if period.tacit_decision else "",
            tacit_effect_date=period.tacit_effect_date, needs_express_opinion=period.needs_express_opinion,
            expected=True))
    return out


def expected_tacit(periods: list[LegalPeriod]) -> LegalPeriod | None:
    """The first period whose silence decides something: the expected tacit decision's date."""
    return next((p for p in periods if p.tacit_effect_date is not None), None)


def receipt_context(access_request: AccessRequest, clock: RequestClock) -> dict:
    periods = legal_periods(clock)
    return {
        "access_request": access_request, "clock": clock, "periods": periods, "tacit": expected_tacit(periods),
        "route_label": route_label(access_request.route), "generated_at": timezone.now(),
        "portal_url": absolute_reverse("portal:detail", access_request.reference),
    }


def receipt_pdf(access_request: AccessRequest, *, language: str) -> bytes | None:
    """The receipt PDF of a submitted request in ``language`` (None: never submitted), the clock
    replayed from the events up to the submission (``submission_clock``): the download's and the
    submission's email's (drawn by the worker that sends it) are the same."""
    clock = submission_clock(access_request)
    if clock is None:
        return None
    request = receipt_request(access_request.pk)
    with translation.override(language):
        context = receipt_context(request, clock)
    return render_pdf("documents/receipt.html", context, language=language)


def receipt_filename(access_request: AccessRequest, *, language: str) -> str:
    with translation.override(language):
        return _("accuse-de-reception-%(reference)s.pdf") % {"reference": access_request.reference}


# --- the dossier PDF --------------------------------------------------------------------------
def reason_label(reason: str) -> str:
    return str(InformationReason(reason).label) if reason in InformationReason.values else reason


@dataclass(frozen=True)
class VisitRow:
    """A stage visit of the dossier's clock (delays.clock.VisitClock), labelled for the documents."""

    label: str
    start: dt.datetime
    end: dt.datetime | None
    days: float
    due_date: dt.date | None
    overdue: bool
    interrupted: bool
    pause: bool
    extended: bool
    urgent: bool
    tacit_label: str
    tacit_effect_date: dt.date | None
    projected: bool
    reason_label: str


def visit_rows(clock: RequestClock | None) -> list[VisitRow]:
    if clock is None:
        return []
    return [
        VisitRow(label=stage_label(v.stage), start=v.entered_at, end=v.left_at, days=v.days, due_date=v.due_date,
                 overdue=v.overdue, interrupted=bool(v.reason) and not v.is_pause, pause=v.is_pause,
                 extended=v.extended, urgent=v.urgent, tacit_label=v.tacit_label,
                 tacit_effect_date=v.tacit_effect_date, projected=v.projected,
                 reason_label=reason_label(v.reason) if v.is_pause and v.reason else "")
        for v in clock.visits
    ]


def dossier_context(access_request: AccessRequest, *, now: dt.datetime) -> dict:
    clock = request_clock(access_request, now, medians=NO_MEDIANS)
    return {
        "access_request": access_request, "clock": clock, "visits": visit_rows(clock),
        "history": timeline.history(access_request.events.all()),
        "holder_lines": timeline.holder_lines(access_request),
        "attachments": list(access_request.attachments.all()),
        "state_label": timeline.state_label(access_request.state), "route_label": route_label(access_request.route),
        "generated_at": now,
    }


def dossier_pdf(access_request: AccessRequest, *, language: str, now: dt.datetime | None = None) -> bytes:
    """The dossier PDF of ``access_request`` (any state) in ``language``, as it stands at ``now``."""
    request = document_request(access_request.pk)
    with translation.override(language):
        context = dossier_context(request, now=now or timezone.now())
    return render_pdf("documents/dossier.html", context, language=language)


def dossier_filename(access_request: AccessRequest, *, extension: str, language: str) -> str:
    with translation.override(language):
        return _("dossier-%(reference)s.%(extension)s") % {"reference": access_request.reference,
                                                          "extension": extension}


# --- the ZIP ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class ManifestLine:
    """An attachment in the manifest: its name in the archive, or why it was left out."""

    attachment: Attachment
    entry: str = ""
    left_out: str = ""


def entry_name(index: int, width: int, attachment: Attachment) -> str:
    """A safe, unique name in the archive: its folder, a number (the upload order), then the
    file's name as access_requests.attachments.safe_name writes it (no path, ASCII, the
    extension of its type)."""
    content_type = attachment.content_type if attachment.content_type in EXTENSIONS else PDF
    name = safe_name(attachment.original_name, content_type)
    if content_type != attachment.content_type:  # never stored so, but never named wrongly either
        name = name.removesuffix(EXTENSIONS[PDF]) + ".bin"
    folder = _("pieces")
    return f"{folder}/{index:0{width}d}-{name}"


def left_out_reason(attachment: Attachment) -> str:
    """Why an attachment's content is not in the archive ("" when it may be served)."""
    if attachment.scan_status == ScanStatus.INFECTED:
        return _("virus détecté (%(signature)s) : son contenu a été supprimé") % {
            "signature": attachment.scan_result or "?"}
    if attachment.scan_status == ScanStatus.ERROR:
        return _("en quarantaine : l'analyse antivirus a échoué")
    if attachment.scan_status == ScanStatus.PENDING or not attachment.is_downloadable:
        return _("en quarantaine : l'analyse antivirus est en cours")
    return ""


def _content(attachment: Attachment) -> bytes | None:
    try:
        with attachment.file.open("rb") as handle:
            return handle.read()
    except (FileNotFoundError, ValueError):
        return None


def _zip_time(instant: dt.datetime) -> tuple[int, int, int, int, int, int]:
    local = timezone.localtime(instant)
    return (max(local.year, 1980), local.month, local.day, local.hour, local.minute, local.second)


def _write(archive: zipfile.ZipFile, name: str, data: bytes, *, at: dt.datetime, compress: bool) -> None:
    info = zipfile.ZipInfo(name, date_time=_zip_time(at))
    info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    info.external_attr = 0o644 << 16
    archive.writestr(info, data)


def dossier_zip(access_request: AccessRequest, *, language: str, now: dt.datetime | None = None) -> IO[bytes]:
    """The ZIP of the dossier, as an open temporary file at its start (the caller closes it):
    ``dossier.pdf``, the attachments that may be served, and the manifest."""
    now = now or timezone.now()
    request = document_request(access_request.pk)
    with translation.override(language):
        context = dossier_context(request, now=now)
    pdf = render_pdf("documents/dossier.html", context, language=language)
    attachments = list(request.attachments.all())
    width = max(2, len(str(len(attachments))))
    output = tempfile.TemporaryFile()
    lines: list[ManifestLine] = []
    with translation.override(language), zipfile.ZipFile(output, "w") as archive:
        _write(archive, "dossier.pdf", pdf, at=now, compress=False)
        for index, attachment in enumerate(attachments, start=1):
            reason = left_out_reason(attachment)
            content = None if reason else _content(attachment)
            if not reason and content is None:
                reason = _("fichier introuvable sur le serveur")
            elif content is not None and hashlib.sha256(content).hexdigest() != attachment.sha256:
                reason = _("son contenu ne correspond plus à l'empreinte enregistrée au dépôt")
            if reason:
                lines.append(ManifestLine(attachment, left_out=reason))
                continue
            name = entry_name(index, width, attachment)
            _write(archive, name, content or b"", at=attachment.uploaded_at, compress=False)
            lines.append(ManifestLine(attachment, entry=name))
            del content
        manifest = tidy_text(render_to_string("documents/manifest.txt", {
            "access_request": request, "lines": lines, "included": [line for line in lines if line.entry],
            "left_out": [line for line in lines if line.left_out], "generated_at": now, "language": language,
        }))
        _write(archive, manifest_name(language), manifest.encode("utf-8"), at=now, compress=True)
    output.seek(0)
    return output


def tidy_text(text: str) -> str:
    """Template tags leave blank lines: at most one empty line in a row, no trailing spaces."""
    lines = [line.rstrip() for line in text.strip().splitlines()]
    kept = [line for index, line in enumerate(lines) if line or (index and lines[index - 1])]
    return "\n".join(kept) + "\n"


def manifest_name(language: str) -> str:
    with translation.override(language):
        return _("manifeste.txt")
