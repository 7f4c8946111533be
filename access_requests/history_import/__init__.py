"""Import the history of access requests from a previous tool or spreadsheet (issue #2).

The file is a UTF-8 CSV with the header ``reference,at,state,datasets,requires_matching,title``
and an optional ``route`` column. Each row is one state entered by one request:

- ``reference``: the request's reference, matching ``access_requests.references`` (1 to 32
  ASCII letters, digits, ``-``, ``_`` or ``.``, starting with a letter or a digit); rows of
  different references may come in any order.
- ``at``: the instant the state was entered, ISO 8601 with a UTC offset or ``Z`` (a naive time
  is an error). A reference's rows are sorted by ``at`` (stable for equal instants).
- ``state``: a workflow state (``workflow.State``). The history must start at ``draft`` or
  ``submitted`` and follow the legal transitions of ``workflow`` (``edge_allowed``), a
  resumption from ``awaiting_applicant`` going back to the stage that paused.
- ``datasets`` (catalogue codes separated by ``;``) and ``title``: on the reference's first row
  (the earliest); blank on the others, or repeating exactly the same value.
- ``requires_matching``: ``true``, ``false`` or blank. Blank: derived from the datasets
  (two or more need matching). An explicit ``true`` with fewer than two datasets means the
  applicant brings its own data to link (``brings_own_data``).
- ``route`` (optional column): ``standard``, ``reference_methodology`` or ``simplified``.
  **When absent or blank it is inferred**: a history that goes straight from ``submitted`` to
  ``contracting`` is ``simplified`` when its only dataset is ``esnd`` (the SNDS sample), else
  ``reference_methodology``; any other history is ``standard``.
- A row from ``cesrees_review`` or ``cnil_review`` to the same state is the CESREES extension
  or the CNIL renewal, written as the back office writes it (action ``extend_review``): at most
  one per visit, and only up to the visit's due date (the services' rule, delays.rules).
- ``reason`` (optional column, on rows entering ``awaiting_applicant``): ``incomplete``,
  ``incorrect`` or ``other``, the information request's reason (blank: none recorded, counted
  as incomplete by the clocks).
- ``opinion`` (optional column, on the row leaving ``cesrees_review``): ``favourable``,
  ``favourable_with_recommendations``, ``reserved`` or ``unfavourable``; it becomes the request's
  CESREES opinion (whether the CNIL's silence authorises).
- ``urgent`` (optional column, on rows entering ``cesrees_review``): ``true`` for the urgent
  15-day procedure, ``false`` or blank otherwise.
- ``holder`` (optional column, on rows entering ``matching``, ``extraction`` or ``delivered``): a
  data holder's code (``catalog.DataHolder.code``) holding one of the request's datasets. Once the
  request enters ``contracting`` it has one task per holder of its datasets (issue #15); a row
  with ``holder`` moves that holder's task only (contract → matching when needed → extraction →
  delivered, ``workflow.task_edge_allowed``), and the request follows its least advanced task:
  when that one moves on, the request's own events are written at the same instant (so a
  request is delivered when its last holder delivers). A post-decision row without ``holder``
  applies to every task of the request not yet there, as before tasks existed.
- No row may be dated after the moment of the import.

Validation runs first, in pure Python on plain tuples, and reports every error with its line
number (the header is line 1). On any error nothing is written. Otherwise, in one transaction:

- a new reference becomes an ``AccessRequest`` (organisation and applicant left empty,
  ``created_at`` set to its first instant) with one event per row: actor none, role ``system``,
  action the workflow transition's name (``import`` for the first event), the historical instant,
  payload ``{"source": "import", "line": N}`` plus the row's ``reason``, ``opinion`` and
  ``urgent`` when given (the keys the services write);
- an existing reference whose transition events (``from_state != to_state``) have exactly the
  file's ``(to_state, at)`` sequence is left alone, so importing a file twice changes nothing;
  when its events are a strict prefix of the file's history the missing events are appended and
  its state moves on; any other difference is an error;
- the holders' tasks are opened and moved with their own events (actor none, role ``system``),
  compared like the request's events on a second import;
- the yearly ``ReferenceSequence`` is raised past every imported ``HDH-YYYY-NNNN`` reference;
- the delays of the requests written are recomputed, and the forecast baseline with them
  (delays/receivers.py): no other command is needed.

Writes are in bulk (a constant number of queries per batch of rows). On PostgreSQL a file whose
references each come in one run of rows (as exports write them) is read once, a reference at a
time; any other file first goes through a temporary staging table (COPY) and is read back one
reference at a time; either way each reference is checked by the same code, and every row is
written by COPY (``_import_staged``; the delay rows too, by
``delays.materialise.materialise_requests_bulk``): the memory holds a chunk of references (and,
for the one-pass check, the set of references seen), not the file. On SQLite the file is validated in memory and written with
``bulk_create``, one batch of model instances at a time.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import os
import re
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, BinaryIO, NamedTuple

from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from access_requests import signals
from access_requests.models import AccessRequest, Event, HolderTask, HolderTaskEvent, ReferenceSequence
from access_requests.references import REFERENCE_MAX_LENGTH, REFERENCE_RULE, is_valid_reference
from access_requests.selectors.clock import ClockLog, visit_statutes
from access_requests.services import derive_requires_matching, task_due_date
from access_requests.workflow import (
    EXTENSION_ROLES,
    RECORDED_OPINIONS,
    TASK_ORDER,
    TRANSITIONS,
    EventAction,
    InformationReason,
    Role,
    Route,
    State,
    condition_refusal,
    edge_allowed,
    extension_refusal_of,
    request_moves,
    request_state_of_tasks,
    task_edge_allowed,
    transition_for_edge,
)
from catalog.models import DataHolder, Dataset
from delays import rules
from hdh_access.lib import pgcopy
from hdh_access.lib.gcpause import paused_gc

REQUIRED_COLUMNS = ("reference", "at", "state", "datasets", "requires_matching", "title")
OPTIONAL_COLUMNS = ("route", "reason", "opinion", "urgent", "holder")
DEFAULT_BATCH_SIZE = 5000
IMPORT_ACTION = "import"
TITLE_MAX_LENGTH = AccessRequest._meta.get_field("title").max_length
STARTING_STATES = (State.DRAFT.value, State.SUBMITTED.value)
SIMPLIFIED_DATASET = "esnd"

_STATES = frozenset(State.values)
# The states a holder's own row may enter, and the request states where tasks exist.
POST_DECISION_STATES: tuple[str, ...] = tuple(TASK_ORDER)
HOLDER_ROW_STATES = POST_DECISION_STATES[1:]
_RANK = {state: index for index, state in enumerate(POST_DECISION_STATES)}
_ROUTES = frozenset(Route.values)
_BOOLEANS = {"true": True, "false": False}
_REFERENCE_PATTERN = re.compile(r"^HDH-(\d{4})-(\d+)$")
_UTC = dt.UTC
# The transition name of every legal edge, looked up once per edge rather than once per row.
_ACTIONS: dict[tuple[str, str], str] = {}


def _action(source: str, target: str) -> str:
    if source == target:
        return EventAction.EXTEND_REVIEW.value  # validation only lets the review stages' own edge through
    action = _ACTIONS.get((source, target))
    if action is None:
        spec = transition_for_edge(source, target)
        if spec is None:  # validation only lets legal edges through
            raise ValueError(f"no transition from {source!r} to {target!r}")
        action = _ACTIONS[source, target] = spec.name
    return action


def _shown(value: str, limit: int = 60) -> str:
    """A value quoted in a message: on one line, and not too long."""
    value = value.replace("\r", "\\r").replace("\n", "\\n")
    return value if len(value) <= limit else value[:limit] + "…"


# --- results and errors ------------------------------------------------------------------
@dataclass(frozen=True)
class ImportIssue:
    """One error found in the file: its line (None for the file as a whole), reference, reason."""

    line: int | None
    reference: str
    message: str

    def __str__(self) -> str:
        if self.line is None:
            return self.message
        return _("ligne %(line)d : %(reference)s : %(message)s") % {
            "line": self.line, "reference": _shown(self.reference, 40) or "—", "message": self.message,
        }


class HistoryImportError(Exception):
    """The import was refused; ``issues`` lists every error, sorted by line."""

    def __init__(self, issues: Sequence[ImportIssue]) -> None:
        self.issues = sorted(issues, key=lambda issue: (issue.line or 0, issue.reference))
        super().__init__("\n".join(str(issue) for issue in self.issues))


@dataclass
class ImportResult:
    """What an import did."""

    created: int = 0
    extended: int = 0
    unchanged: int = 0
    events_written: int = 0
    task_events_written: int = 0  # the holders' tasks' events (HolderTaskEvent)
    rows: int = 0
    # Seconds: reading and validating the file (on PostgreSQL including ``staged``: the pass that
    # finds whether each reference's rows come together, then for a file where they do not the
    # COPY of its rows into the staging table), writing the rows, materialising the delays, in all.
    validated: float = 0.0
    staged: float = 0.0
    written: float = 0.0
    materialised: float = 0.0
    elapsed: float = 0.0
    request_ids: list[int] = field(default_factory=list, repr=False)


@dataclass(frozen=True, slots=True)
class Extra:
    """A row's optional event facts: the information request's reason, the CESREES opinion of
    the row leaving the review, the urgent procedure of a row entering it."""

    reason: str = ""
    opinion: str = ""
    urgent: bool = False
    holder: str = ""  # a data holder's code: the row moves that holder's task only

    def payload(self) -> dict[str, object]:
        values: dict[str, object] = {}
        if self.reason:
            values["reason"] = self.reason
        if self.opinion:
            values["opinion"] = self.opinion
        if self.urgent:
            values["urgent"] = True
        return values


NO_EXTRA = Extra()
# (line, instant, state, extra) of one row.
Row = tuple[int, dt.datetime, str, Extra]


class TaskMove(NamedTuple):
    """A holder's task entering ``to_state`` (from "" when it opens) at ``at``, from file line ``line``."""

    line: int
    at: dt.datetime
    holder: str
    from_state: str
    to_state: str


@dataclass(slots=True)
class History:
    """A validated reference: its attributes and its rows ``(line, at, state)`` in time order."""

    reference: str
    title: str
    datasets: tuple[str, ...]
    requires_matching: bool
    brings_own_data: bool
    route: str
    rows: list[Row]
    paused_from: str
    cesrees_opinion: str = ""
    cesrees_extended: bool = False
    cnil_extended: bool = False
    task_moves: list[TaskMove] = field(default_factory=list)

    @property
    def state(self) -> str:
        return self.rows[-1][2]

    @property
    def first_line(self) -> int:
        return self.rows[0][0]


# (line, title, datasets, requires_matching, route) of a row where any of them is not blank.
Attributes = tuple[int, str, tuple[str, ...] | None, bool | None, str]


class _Record(NamedTuple):
    """What one row of the file with a valid reference tells about that reference."""

    reference: str
    broken: bool  # an unreadable state, instant or optional column
    unsure: bool  # an invalid attribute that decides the legal transitions
    row: Row | None  # when the instant was read
    attributes: Attributes | None  # when the row has any attribute


@dataclass(slots=True)
class _Draft:
    """A reference while the file is read: its valid rows and the rows that carry attributes."""

    reference: str
    rows: list[Row] = field(default_factory=list)
    attributes: list[Attributes] = field(default_factory=list)
    broken: bool = False  # a row had an unreadable state or instant: the sequence is not checked
    # An attribute that decides the legal transitions (datasets, requires_matching, route) was
    # invalid: the sequence is not checked either, its errors would be guesses.
    unsure: bool = False

    def add(self, record: _Record) -> None:
        """Take the next row of the reference, in file order."""
        self.broken = self.broken or record.broken
        self.unsure = self.unsure or record.unsure
        if not self.broken and record.row is not None:
            self.rows.append(record.row)
        if record.attributes is not None:
            self.attributes.append(record.attributes)


class _NotUtf8(Exception):
    def __init__(self, line: int) -> None:
        self.line = line


# --- reading and validating --------------------------------------------------------------
def _decoded_lines(raw: BinaryIO) -> Iterator[str]:
    """Decode the file line by line, so an encoding error names its line."""
    for number, chunk in enumerate(raw, start=1):
        if number == 1 and chunk.startswith(codecs.BOM_UTF8):
            chunk = chunk[len(codecs.BOM_UTF8):]
        try:
            yield chunk.decode("utf-8")
        except UnicodeDecodeError:
            raise _NotUtf8(number) from None


def _parse_instant(value: str) -> tuple[dt.datetime | None, str]:
    """The instant in UTC, or None and the reason."""
    if not value:
        return None, _("instant manquant")
    instant: dt.datetime | None
    try:
        instant = dt.datetime.fromisoformat(value)
    except ValueError:
        return None, _("instant « %(value)s » illisible (ISO 8601 attendu, par exemple 2024-03-01T09:30:00Z)") % {
            "value": _shown(value)}
    if instant.tzinfo is None or instant.utcoffset() is None:
        return None, _("instant « %(value)s » sans fuseau horaire (ajoutez un décalage UTC ou Z)") % {
            "value": _shown(value)}
    try:
        instant = instant.astimezone(_UTC)
    except OverflowError:
        instant = None
    # Far-off years overflow the delay arithmetic (deadlines in months): refuse them here.
    if instant is None or not 1900 <= instant.year <= 2200:
        return None, _("instant « %(value)s » hors des années 1900 à 2200") % {"value": _shown(value)}
    return instant, ""


def _parse_extra(state: str, reason: str, opinion: str, urgent: str, holder: str = "",
                 holders: frozenset[str] = frozenset()) -> tuple[Extra, list[str]]:
    """The optional columns of a row, and what is wrong with them. The opinion is checked
    against the previous state later (it belongs on the row leaving cesrees_review), the holder
    against the request's datasets and its task's state later too."""
    issues = []
    if holder:
        if holder not in holders:
            issues.append(_("détenteur (holder) « %(value)s » inconnu (%(choices)s)") % {
                "value": _shown(holder), "choices": ", ".join(sorted(holders)) or "—"})
        elif state not in HOLDER_ROW_STATES:
            issues.append(_("détenteur (holder) sur une ligne qui n'entre pas dans %(states)s") % {
                "states": ", ".join(HOLDER_ROW_STATES)})
    if reason:
        if reason not in InformationReason.values:
            issues.append(_("motif « %(value)s » inconnu (%(choices)s)") % {
                "value": _shown(reason), "choices": ", ".join(InformationReason.values)})
        elif state != State.AWAITING_APPLICANT:
            issues.append(_("motif (reason) sur une ligne qui n'entre pas dans awaiting_applicant"))
    if opinion and opinion not in RECORDED_OPINIONS:
        issues.append(_("avis « %(value)s » inconnu (%(choices)s)") % {
            "value": _shown(opinion), "choices": ", ".join(RECORDED_OPINIONS)})
    flag = _BOOLEANS.get(urgent.lower()) if urgent else False
    if flag is None:
        issues.append(_("urgent « %(value)s » invalide (true, false ou vide)") % {"value": _shown(urgent)})
    elif flag and state != State.CESREES_REVIEW:
        issues.append(_("urgent sur une ligne qui n'entre pas dans cesrees_review"))
    if issues:
        return NO_EXTRA, issues
    if not (reason or opinion or flag or holder):
        return NO_EXTRA, []
    return Extra(reason=reason, opinion=opinion, urgent=bool(flag), holder=holder), []


def _parse_datasets(value: str, known: Iterable[str]) -> tuple[tuple[str, ...], list[str]]:
    """The dataset codes (order kept, duplicates dropped) and the unknown ones."""
    codes: list[str] = []
    unknown: list[str] = []
    for part in value.split(";"):
        code = part.strip()
        if not code or code in codes:
            continue
        if code in known:
            codes.append(code)
        else:
            unknown.append(code)
    return tuple(codes), unknown


def _blank(row: list[str]) -> bool:
    """A blank line of the file (skipped, not a row)."""
    return not row or (len(row) == 1 and not row[0].strip())


def _header_issues(header: list[str]) -> tuple[dict[str, int], list[ImportIssue]]:
    names = [name.strip().lower() for name in header]
    issues = []
    missing = [name for name in REQUIRED_COLUMNS if name not in names]
    unknown = [name for name in names if name not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    doubled = sorted({name for name in names if names.count(name) > 1})
    if missing:
        issues.append(_("en-tête : colonnes manquantes : %(columns)s") % {"columns": ", ".join(missing)})
    if unknown:
        issues.append(_("en-tête : colonnes inconnues : %(columns)s (attendu : %(expected)s)") % {
            "columns": ", ".join(_shown(name) or '""' for name in unknown),
            "expected": ", ".join(REQUIRED_COLUMNS + OPTIONAL_COLUMNS)})
    if doubled:
        issues.append(_("en-tête : colonnes en double : %(columns)s") % {"columns": ", ".join(doubled)})
    return {name: index for index, name in enumerate(names)}, [ImportIssue(1, "", message) for message in issues]


def _open(path: str | os.PathLike[str]) -> BinaryIO:
    try:
        return open(path, "rb")
    except FileNotFoundError:
        message = _("Fichier introuvable : %(path)s") % {"path": path}
        raise HistoryImportError([ImportIssue(None, "", message)]) from None
    except OSError as exc:
        raise HistoryImportError([ImportIssue(None, "", _("Fichier illisible : %(path)s (%(error)s)") % {
            "path": path, "error": exc.strerror or exc})]) from None


def _not_utf8(exc: _NotUtf8) -> HistoryImportError:
    message = _("le fichier n'est pas encodé en UTF-8 (octets invalides) : enregistrez-le en UTF-8 et recommencez")
    return HistoryImportError([ImportIssue(exc.line, "", message)])


def _file_issues(reader: _FileReader, path: str | os.PathLike[str]) -> None:
    """The errors of the file as a whole, once it is read."""
    if reader.rows is None:
        raise HistoryImportError([ImportIssue(None, "", _("Le fichier %(path)s est vide.") % {"path": path})])
    if reader.rows == 0 and not reader.issues:
        reader.issues.append(ImportIssue(1, "", _("aucune ligne de données après l'en-tête")))


def read_history(path: str | os.PathLike[str], *, dataset_codes: Iterable[str],
                 dataset_holders: Mapping[str, str] | None = None) -> list[History]:
    """Read and validate a history file without touching the database.

    ``dataset_codes`` are the catalogue codes that exist, ``dataset_holders`` each one's data
    holder code (needed by the ``holder`` column). Returns the validated histories, or raises
    ``HistoryImportError`` listing every error found.
    """
    holder_of = dict(dataset_holders or {})
    drafts: dict[str, _Draft] = {}
    with _open(path) as raw:
        reader = _FileReader(raw, frozenset(dataset_codes), frozenset(holder_of.values()))
        try:
            for record in reader.records():
                draft = drafts.get(record.reference)
                if draft is None:
                    draft = drafts[record.reference] = _Draft(record.reference)
                draft.add(record)
        except _NotUtf8 as exc:
            raise _not_utf8(exc) from None
    _file_issues(reader, path)
    issues = reader.issues
    histories = []
    for draft in drafts.values():
        history = _check_history(draft, issues, holder_of)
        if history is not None:
            histories.append(history)
    if issues:
        raise HistoryImportError(issues)
    return histories


class _FileReader:
    """Parse every row of the file with the per-row checks, one ``_Record`` per row with a valid
    reference; the errors go to ``issues`` with their line. ``rows``: the data rows once read
    (None: the file is empty)."""

    def __init__(self, raw: BinaryIO, known: frozenset[str], holders: frozenset[str]) -> None:
        self.raw, self.known, self.holders = raw, known, holders
        self.issues: list[ImportIssue] = []
        self.rows: int | None = None

    def records(self) -> Iterator[_Record]:
        issues, known, holders = self.issues, self.known, self.holders
        reader = csv.reader(_decoded_lines(self.raw), strict=True)
        try:
            header = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            self.rows = 0
            issues.append(ImportIssue(1, "", _("en-tête illisible (%(error)s)") % {"error": exc}))
            return
        self.rows = 0
        columns, header_issues = _header_issues(header)
        if header_issues:
            issues.extend(header_issues)
            return
        width = len(header)
        i_reference, i_at, i_state = columns["reference"], columns["at"], columns["state"]
        i_datasets, i_matching, i_title = columns["datasets"], columns["requires_matching"], columns["title"]
        i_route = columns.get("route")
        i_reason, i_opinion, i_urgent = columns.get("reason"), columns.get("opinion"), columns.get("urgent")
        i_holder = columns.get("holder")
        now = timezone.now()
        rows = 0
        previous_end = reader.line_num
        while True:
            line = previous_end + 1
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                issues.append(ImportIssue(line, "", _("ligne CSV illisible (%(error)s)") % {"error": exc}))
                break  # the reader cannot resynchronise reliably after a quoting error
            finally:
                previous_end = reader.line_num
            if _blank(row):
                continue
            rows += 1
            self.rows = rows
            reference = row[i_reference].strip() if i_reference < len(row) else ""
            if len(row) != width:
                issues.append(ImportIssue(line, reference, _("%(found)d colonnes au lieu de %(expected)d") % {
                    "found": len(row), "expected": width}))
                if is_valid_reference(reference):
                    yield _Record(reference, True, False, None, None)
                continue
            if not reference:
                issues.append(ImportIssue(line, "", _("référence vide")))
                continue
            if len(reference) > REFERENCE_MAX_LENGTH:
                issues.append(ImportIssue(line, reference, _(
                    "référence de %(length)d caractères (%(max)d au plus)") % {
                    "length": len(reference), "max": REFERENCE_MAX_LENGTH}))
                continue
            if not is_valid_reference(reference):
                issues.append(ImportIssue(line, reference, _("référence invalide (%(rule)s)") % {
                    "rule": REFERENCE_RULE}))
                continue
            broken = unsure = False
            state = row[i_state].strip()
            instant, reason = _parse_instant(row[i_at].strip())
            if state not in _STATES:
                issues.append(ImportIssue(line, reference, _("état inconnu « %(state)s »") % {
                    "state": _shown(state)}))
                broken = True
            if instant is None:
                issues.append(ImportIssue(line, reference, reason))
                broken = True
            elif instant > now:
                issues.append(ImportIssue(line, reference, _(
                    "instant %(at)s dans le futur (maintenant : %(now)s)") % {
                    "at": instant.isoformat(), "now": now.astimezone(_UTC).isoformat(timespec="seconds")}))
                broken = True
            extra, extra_issues = _parse_extra(
                state, row[i_reason].strip() if i_reason is not None else "",
                row[i_opinion].strip() if i_opinion is not None else "",
                row[i_urgent].strip() if i_urgent is not None else "",
                row[i_holder].strip() if i_holder is not None else "", holders)
            for message in extra_issues:
                issues.append(ImportIssue(line, reference, message))
                broken = True
            parsed: Row | None = (line, instant, state, extra) if instant is not None else None
            title = row[i_title].strip()
            datasets_value = row[i_datasets].strip()
            matching_value = row[i_matching].strip()
            route = row[i_route].strip() if i_route is not None else ""
            if not (title or datasets_value or matching_value or route):
                yield _Record(reference, broken, False, parsed, None)
                continue
            datasets: tuple[str, ...] | None = None
            if datasets_value:
                datasets, unknown = _parse_datasets(datasets_value, known)
                for code in unknown:
                    issues.append(ImportIssue(line, reference, _("base de données inconnue « %(code)s »") % {
                        "code": _shown(code)}))
                    unsure = True
            if len(title) > TITLE_MAX_LENGTH:
                issues.append(ImportIssue(line, reference, _("titre de plus de %(max)d caractères") % {
                    "max": TITLE_MAX_LENGTH}))
            matching = _BOOLEANS.get(matching_value.lower())
            if matching_value and matching is None:
                issues.append(ImportIssue(line, reference, _(
                    "requires_matching « %(value)s » invalide (true, false ou vide)") % {
                    "value": _shown(matching_value)}))
                unsure = True
            if route and route not in _ROUTES:
                issues.append(ImportIssue(line, reference, _("procédure « %(route)s » inconnue (%(routes)s)") % {
                    "route": _shown(route), "routes": ", ".join(Route.values)}))
                route = ""
                unsure = True
            yield _Record(reference, broken, unsure, parsed, (line, title, datasets, matching, route))


def _check_history(draft: _Draft, issues: list[ImportIssue], holder_of: Mapping[str, str]) -> History | None:
    """Check one reference's attributes and sequence of states; None when it has an error."""
    if draft.broken or not draft.rows:
        return None
    reference = draft.reference
    count = len(issues)
    rows = sorted(draft.rows, key=lambda row: row[1])  # stable: equal instants keep file order
    first_line = rows[0][0]

    # Attributes: title and datasets on the first row, equal values elsewhere.
    by_line = {attributes[0]: attributes for attributes in draft.attributes}
    first = by_line.get(first_line, (first_line, "", None, None, ""))
    title, datasets = first[1], first[2]
    if not title:
        issues.append(ImportIssue(first_line, reference, _("titre manquant sur la première ligne de la demande")))
    if datasets is None:
        issues.append(ImportIssue(first_line, reference, _(
            "bases de données (datasets) manquantes sur la première ligne de la demande")))
    matching: bool | None = None
    route = ""
    matching_line = route_line = first_line
    for line, row_title, row_datasets, row_matching, row_route in draft.attributes:
        if line != first_line and row_title and title and row_title != title:
            issues.append(ImportIssue(line, reference, _("titre différent de celui de la ligne %(first)d") % {
                "first": first_line}))
        if line != first_line and row_datasets is not None and datasets and row_datasets != datasets:
            issues.append(ImportIssue(line, reference, _(
                "bases de données différentes de celles de la ligne %(first)d") % {"first": first_line}))
        if row_matching is not None:
            if matching is None:
                matching, matching_line = row_matching, line
            elif row_matching != matching:
                issues.append(ImportIssue(line, reference, _(
                    "requires_matching différent de celui de la ligne %(first)d") % {"first": matching_line}))
        if row_route:
            if not route:
                route, route_line = row_route, line
            elif row_route != route:
                issues.append(ImportIssue(line, reference, _("procédure différente de celle de la ligne %(first)d") % {
                    "first": route_line}))
    datasets = datasets or ()

    # Duplicates: the same state at the same instant twice (for the request, or for one holder).
    seen: dict[tuple[dt.datetime, str, str], int] = {}
    sequence = []
    for row in rows:
        line, instant, state, extra = row
        if (instant, state, extra.holder) in seen:
            issues.append(ImportIssue(line, reference, _(
                "ligne en double (même état « %(state)s » au même instant que la ligne %(first)d)") % {
                "state": state, "first": seen[instant, state, extra.holder]}))
            continue
        seen[instant, state, extra.holder] = line
        sequence.append(row)

    if draft.unsure:
        return None

    # Route: explicit, or inferred from a submitted → contracting step.
    if not route:
        skips_review = any(a[2] == State.SUBMITTED and b[2] == State.CONTRACTING
                           for a, b in zip(sequence, sequence[1:], strict=False))
        if not skips_review:
            route = Route.STANDARD.value
        elif datasets == (SIMPLIFIED_DATASET,):
            route = Route.SIMPLIFIED.value
        else:
            route = Route.REFERENCE_METHODOLOGY.value
    brings_own_data = bool(matching) and len(datasets) < 2
    requires_matching = matching if matching is not None else derive_requires_matching(
        dataset_count=len(datasets), brings_own_data=False)
    # The holders' rows move their own task; the request follows its least advanced task.
    holders = tuple(sorted({holder_of[code] for code in datasets if code in holder_of}))
    sequence, task_moves = _split_holder_rows(reference, sequence, holders, requires_matching, issues)
    if not sequence:
        return None

    # Sequence: a legal start, then legal transitions.
    if sequence[0][2] not in STARTING_STATES:
        issues.append(ImportIssue(first_line, reference, _(
            "premier état « %(state)s » : l'historique doit commencer par draft ou submitted") % {
            "state": sequence[0][2]}))
    paused_from = ""
    opinion = ""
    extended = {State.CESREES_REVIEW.value: False, State.CNIL_REVIEW.value: False}
    log = ClockLog()
    log.add(from_state="", to_state=sequence[0][2], action=IMPORT_ACTION, at=sequence[0][1],
            payload=sequence[0][3].payload())
    for (_line, _at, source, _e), (line, instant, target, extra) in zip(sequence, sequence[1:], strict=False):
        if source == target and source in EXTENSION_ROLES:
            refusal = _extension_refusal(log, instant, route=route, opinion=opinion)
            if refusal:
                issues.append(ImportIssue(line, reference, refusal))
            extended[source] = True
        elif not edge_allowed(source, target, requires_matching=requires_matching, route=route,
                              paused_from=paused_from):
            issues.append(ImportIssue(line, reference, _transition_reason(
                source, target, requires_matching=requires_matching, route=route, paused_from=paused_from)))
        if extra.opinion and (source != State.CESREES_REVIEW or target == source):
            issues.append(ImportIssue(line, reference, _("avis (opinion) sur une ligne qui ne quitte pas cesrees_review")))
        elif extra.opinion:
            opinion = extra.opinion
        if target == State.AWAITING_APPLICANT:
            paused_from = source
        elif source == State.AWAITING_APPLICANT:
            paused_from = ""
        action = EventAction.EXTEND_REVIEW.value if source == target else "transition"
        log.add(from_state=source, to_state=target, action=action, at=instant, payload=extra.payload())
    if len(issues) != count:
        return None
    return History(reference=reference, title=title, datasets=datasets, requires_matching=requires_matching,
                   brings_own_data=brings_own_data, route=route, rows=sequence, paused_from=paused_from,
                   cesrees_opinion=opinion, cesrees_extended=extended[State.CESREES_REVIEW],
                   cnil_extended=extended[State.CNIL_REVIEW], task_moves=task_moves)


def _split_holder_rows(reference: str, sequence: list[Row], holders: tuple[str, ...], requires_matching: bool,
                       issues: list[ImportIssue]) -> tuple[list[Row], list[TaskMove]]:
    """The request's own rows, and every task's moves, from rows in time order.

    A row without ``holder`` is the request's: entering contracting opens one task per holder of
    its datasets; a later post-decision state moves every task not yet there (as before holders
    had tasks). A row with ``holder`` moves that holder's task along the task pathway
    (``workflow.task_edge_allowed``); when the least advanced task moves on, the request follows
    (``workflow.request_state_of_tasks``), with rows at the same instant and line as its cause.
    """
    rows: list[Row] = []
    tasks: dict[str, str] | None = None
    moves: list[TaskMove] = []
    for row in sequence:
        line, at, state, extra = row
        current = rows[-1][2] if rows else ""
        if not extra.holder:
            rows.append(row)
            if state == State.CONTRACTING and tasks is None:
                tasks = dict.fromkeys(holders, State.CONTRACTING.value)
                moves += [TaskMove(line, at, holder, "", State.CONTRACTING.value) for holder in holders]
            elif state in HOLDER_ROW_STATES and tasks is not None and current in POST_DECISION_STATES:
                for holder, task_state in tasks.items():
                    if _RANK[task_state] < _RANK[state]:
                        moves.append(TaskMove(line, at, holder, task_state, state))
                        tasks[holder] = state
            continue
        if tasks is None or current not in POST_DECISION_STATES[:-1]:
            issues.append(ImportIssue(line, reference, _(
                "ligne d'un détenteur (holder) alors que la demande n'est pas au conventionnement, à "
                "l'appariement ou à l'extraction (état : « %(state)s »)") % {"state": current or "—"}))
            continue
        if extra.holder not in tasks:
            issues.append(ImportIssue(line, reference, _(
                "le détenteur « %(holder)s » ne détient aucune des bases de la demande (détenteurs : %(holders)s)") % {
                "holder": extra.holder, "holders": ", ".join(holders) or "—"}))
            continue
        source = tasks[extra.holder]
        if not task_edge_allowed(source, state, requires_matching=requires_matching):
            issues.append(ImportIssue(line, reference, _(
                "passage impossible de « %(source)s » à « %(target)s » pour la tâche du détenteur « %(holder)s »") % {
                "source": source, "target": state, "holder": extra.holder}))
            continue
        tasks[extra.holder] = state
        moves.append(TaskMove(line, at, extra.holder, source, state))
        low = request_state_of_tasks(tasks.values())
        for name in request_moves(current, low, requires_matching=requires_matching):
            rows.append((line, at, str(TRANSITIONS[name].target), NO_EXTRA))
    return rows, moves


def _extension_refusal(log: ClockLog, at: dt.datetime, *, route: str, opinion: str) -> str | None:
    """Why an extension row at ``at`` is refused (the services' own rule), None when it is not."""
    statutes = visit_statutes(log.transitions, log.facts(route=route, cesrees_opinion=opinion), at=at)
    current = statutes[-1] if statutes and statutes[-1].left_at is None else None
    state = current.stage if current else ""
    message = extension_refusal_of(rules.extension_refusal(current, at), state)
    return _("prolongation refusée : %(reason)s") % {"reason": message.rstrip(".")} if message else None


def _transition_reason(source: str, target: str, *, requires_matching: bool, route: str, paused_from: str) -> str:
    """Why the edge is refused: the workflow's own words when its condition fails."""
    message = _("passage impossible de « %(source)s » à « %(target)s »") % {"source": source, "target": target}
    detail = None
    if transition_for_edge(source, target) is not None:
        detail = condition_refusal(source, target, requires_matching=requires_matching, route=route,
                                   paused_from=paused_from)
    return f"{message} ({detail.rstrip('.')})" if detail else message


# --- writing -----------------------------------------------------------------------------
def import_history(path: str | os.PathLike[str], *, batch_size: int = DEFAULT_BATCH_SIZE,
                   progress: Callable[[str], None] | None = None) -> ImportResult:
    """Validate ``path`` and import it in one transaction; raise ``HistoryImportError`` on any error.

    Idempotent: a reference already imported with the same history is left unchanged. On
    PostgreSQL the file goes through a staging table and the rows are written with COPY
    (``_import_staged``); elsewhere it is validated in memory and written with ``bulk_create``.
    """
    started = time.monotonic()
    result = ImportResult()
    dataset_ids = dict(Dataset.objects.values_list("code", "id"))
    holder_of = dict(Dataset.objects.values_list("code", "holder__code"))
    if _copy_writes():
        _import_staged(path, dataset_ids=dataset_ids, holder_of=holder_of, batch_size=batch_size,
                       result=result, progress=progress)
        result.elapsed = time.monotonic() - started
        return result
    histories = read_history(path, dataset_codes=dataset_ids, dataset_holders=holder_of)
    result.rows = sum(len(history.rows) for history in histories)
    result.validated = time.monotonic() - started
    if progress:
        progress(_("%(references)d demandes, %(rows)d lignes validées en %(seconds).1f s") % {
            "references": len(histories), "rows": result.rows, "seconds": result.validated})
    issues: list[ImportIssue] = []
    with transaction.atomic():
        for start in range(0, len(histories), batch_size):
            chunk = histories[start:start + batch_size]
            _import_chunk(chunk, dataset_ids=dataset_ids, batch_size=batch_size, result=result, issues=issues)
        if issues:
            raise HistoryImportError(issues)
        _bump_reference_sequences(_highest_references(history.reference for history in histories))
        _materialise(result)
    result.elapsed = time.monotonic() - started
    return result


# --- the PostgreSQL path: a staging table, streamed by reference, COPY writes --------------
STAGING_TABLE = "history_import_staging"
_STAGING_COLUMNS = ("reference", "line", "broken", "unsure", "at", "state", "reason", "opinion", "urgent",
                    "holder", "has_attributes", "title", "datasets", "matching", "route")
_STAGING_DDL = f"""
CREATE TEMPORARY TABLE {STAGING_TABLE} (
    reference text NOT NULL, line integer NOT NULL, broken boolean NOT NULL, unsure boolean NOT NULL,
    at timestamptz, state text, reason text, opinion text, urgent boolean, holder text,
    has_attributes boolean NOT NULL, title text, datasets text, matching boolean, route text
) ON COMMIT DROP"""
# For the import's transaction only (SET LOCAL: what PgBouncer's transaction mode allows). The
# staging table's sort in memory; the commit does not wait for its WAL to reach the disk: a crash
# in the next instant (wal_writer_delay, 200 ms) loses the whole import, never part of it (the
# WAL is still written in order and replayed up to a commit or not at all), and the import is
# run again (idempotent); no other transaction's durability changes.
# The foreign keys (Django makes them DEFERRABLE INITIALLY DEFERRED) are checked at the end of
# each COPY rather than all at the commit: the same checks, done while the workers compute the
# delay rows instead of after everything else (set back to deferred when the import ends).
_IMPORT_SETTINGS = ("SET LOCAL synchronous_commit = off", "SET LOCAL work_mem = '256MB'",
                    "SET CONSTRAINTS ALL IMMEDIATE")
# Rows read back from the staging table per round trip of the server-side cursor.
STAGING_FETCH = 20_000


def _staging_line(record: _Record) -> str:
    """A record as a line of COPY text (the columns of ``_STAGING_COLUMNS``). The reference was
    validated (no character to escape); the rest goes through ``pgcopy``."""
    row, attributes = record.row, record.attributes
    line = attributes[0] if attributes is not None else row[0] if row is not None else 0
    head = f"{record.reference}\t{line:d}\t{'t' if record.broken else 'f'}\t{'t' if record.unsure else 'f'}"
    if row is None:
        middle = "\\N\t\\N\t\\N\t\\N\t\\N\t\\N"
    elif row[3] is NO_EXTRA:
        middle = f"{row[1].isoformat()}\t{pgcopy.copy_text_value(row[2])}\t\t\tf\t"  # no reason, opinion...
    else:
        extra = row[3]
        middle = "\t".join(map(pgcopy.copy_value, (row[1], row[2], extra.reason, extra.opinion, extra.urgent,
                                                    extra.holder)))
    if attributes is None:
        return f"{head}\t{middle}\tf\t\\N\t\\N\t\\N\t\\N\n"
    _line, title, datasets, matching, route = attributes
    tail = "\t".join(map(pgcopy.copy_value, (title, None if datasets is None else ";".join(datasets), matching, route)))
    return f"{head}\t{middle}\tt\t{tail}\n"


def _stage(raw: BinaryIO, reader: _FileReader) -> None:
    """COPY the records of the file into the staging table, a batch at a time."""
    sql = f"COPY {STAGING_TABLE} ({', '.join(_STAGING_COLUMNS)}) FROM STDIN"
    lines: list[str] = []
    for record in reader.records():
        lines.append(_staging_line(record))
        if len(lines) >= pgcopy.COPY_BATCH:
            pgcopy.copy_text(sql, lines)
            lines = []
    if lines:
        pgcopy.copy_text(sql, lines)


def _grouped_by_reference(raw: BinaryIO) -> bool:
    """Whether each reference's rows follow one another in the file, as exports write them: then
    the import reads the file once, without the staging table (``_grouped_drafts``). Reads only
    the reference column; a file it cannot read says no (the staging path reports its errors).
    Holds the set of references seen (about 80 bytes each); rewinds the file. A file that cannot
    be read twice (a pipe) says no without reading it."""
    if not raw.seekable():
        return False
    try:
        reader = csv.reader(_decoded_lines(raw), strict=True)
        header = next(reader, None)
        if header is None:
            return False
        columns, header_issues = _header_issues(header)
        if header_issues:
            return False
        index = columns["reference"]
        seen: set[str] = set()
        current: str | None = None
        for row in reader:
            if _blank(row) or index >= len(row):
                continue  # a blank or short line: the reading pass reports it
            reference = row[index].strip()
            if reference != current:
                if reference in seen:
                    return False
                seen.add(reference)
                current = reference
        return True
    except (csv.Error, _NotUtf8):
        return False
    finally:
        raw.seek(0)


def _grouped_drafts(reader: _FileReader) -> Iterator[_Draft]:
    """The references of a file grouped by reference, one at a time, their rows in file order.
    A reference seen again further on (the file changed since the first pass) stops the import."""
    draft: _Draft | None = None
    seen: set[str] = set()
    for record in reader.records():
        if draft is None or draft.reference != record.reference:
            if record.reference in seen:
                raise HistoryImportError([ImportIssue(None, record.reference, _(
                    "le fichier a changé pendant sa lecture (la référence %(reference)s revient plus loin) : "
                    "relancez l'import") % {"reference": record.reference})])
            seen.add(record.reference)
            if draft is not None:
                yield draft
            draft = _Draft(record.reference)
        draft.add(record)
    if draft is not None:
        yield draft


def _staged_drafts() -> Iterator[_Draft]:
    """The references of the staging table one at a time, their rows in file order, through a
    server-side cursor (the memory holds one fetch, not the file)."""
    columns = ", ".join(_STAGING_COLUMNS)
    with connection.connection.cursor(name="history_import_staging") as cursor:
        cursor.itersize = STAGING_FETCH
        cursor.execute(f'SELECT {columns} FROM {STAGING_TABLE} ORDER BY reference COLLATE "C", line')
        draft: _Draft | None = None
        for (reference, line, broken, unsure, at, state, reason, opinion, urgent, holder, has_attributes,
             title, datasets, matching, route) in cursor:
            if draft is None or draft.reference != reference:
                if draft is not None:
                    yield draft
                draft = _Draft(reference)
            row: Row | None = None
            if at is not None:
                extra = Extra(reason, opinion, urgent, holder) if (reason or opinion or urgent or holder) else NO_EXTRA
                row = (line, at, state, extra)
            attributes: Attributes | None = None
            if has_attributes:
                codes = None if datasets is None else tuple(datasets.split(";")) if datasets else ()
                attributes = (line, title, codes, matching, route)
            draft.add(_Record(reference, broken, unsure, row, attributes))
        if draft is not None:
            yield draft


def _import_staged(path: str | os.PathLike[str], *, dataset_ids: dict[str, int], holder_of: dict[str, str],
                   batch_size: int, result: ImportResult, progress: Callable[[str], None] | None) -> None:
    """Import ``path`` on PostgreSQL in one transaction, in bounded memory.

    The per-row checks run as the file is read and its rows go to a temporary staging table by
    COPY (with their file line); the staging table is then read back ordered by reference, one
    reference at a time, and each is checked by the same code as ``read_history``. Every
    ``batch_size`` valid references are compared with the database and written by COPY
    (``_import_chunk``), as long as no error was found; after the first error the rest is
    still checked, to report every error, and the transaction rolls back. As ``read_history``,
    a file with validation errors reports those only (not the differences with the database).
    """
    started = time.monotonic()
    with paused_gc(), _open(path) as raw, transaction.atomic():
        with connection.cursor() as cursor:
            for statement in _IMPORT_SETTINGS:
                cursor.execute(statement)
            cursor.execute(f"DROP TABLE IF EXISTS {STAGING_TABLE}")
            cursor.execute(_STAGING_DDL)
        responses: list[tuple[Any, Any]] = signals.requests_importing.send(sender=AccessRequest)
        observers = [response for _receiver, response in responses if response is not None]
        try:
            _import_staged_in(raw, path, observers, started, dataset_ids=dataset_ids, holder_of=holder_of,
                              batch_size=batch_size, result=result, progress=progress)
        except BaseException as exc:
            for observer in observers:
                observer.discard()
            if isinstance(exc, HistoryImportError):  # the connection is usable: an enclosing
                _constraints_deferred()               # transaction goes on as before
            raise
        _constraints_deferred()


def _constraints_deferred() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def _import_staged_in(raw: BinaryIO, path: str | os.PathLike[str], observers: list[Any], started: float, *,
                      dataset_ids: dict[str, int], holder_of: dict[str, str], batch_size: int,
                      result: ImportResult, progress: Callable[[str], None] | None) -> None:
    """``_import_staged`` once the staging table exists, in its transaction."""
    validation: list[ImportIssue] = []  # the references' own errors (the rows' are the reader's)
    differences: list[ImportIssue] = []
    highest: dict[int, int] = {}
    reader = _FileReader(raw, frozenset(dataset_ids), frozenset(holder_of.values()))
    drafts: Iterator[_Draft]
    grouped = _grouped_by_reference(raw)
    if grouped:
        drafts = _grouped_drafts(reader)  # the rows' errors come as the file is read
    else:
        try:
            _stage(raw, reader)
        except _NotUtf8 as exc:
            raise _not_utf8(exc) from None
        _file_issues(reader, path)
        drafts = _staged_drafts()
    result.staged = time.monotonic() - started
    chunk: list[History] = []

    def flush() -> None:
        if chunk and not reader.issues and not validation and not differences:
            result.rows += sum(len(history.rows) for history in chunk)
            writing = time.monotonic()
            created = _import_chunk(chunk, dataset_ids=dataset_ids, batch_size=batch_size, result=result,
                                    issues=differences)
            result.written += time.monotonic() - writing
            if created and observers:
                observing = time.monotonic()
                imported = [_imported_request(request_id, history) for request_id, history in created]
                for observer in observers:
                    observer.add(imported)
                result.materialised += time.monotonic() - observing
        chunk.clear()

    for draft in drafts:
        history = _check_history(draft, validation, holder_of)
        if history is None:
            continue
        _raise_highest(highest, history.reference)
        chunk.append(history)
        if len(chunk) >= batch_size:
            flush()
    if grouped:
        _file_issues(reader, path)  # now that the file is read
    flush()
    result.validated = time.monotonic() - started - result.written - result.materialised
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {STAGING_TABLE}")
    if reader.issues or validation:
        raise HistoryImportError(reader.issues + validation)
    if differences:
        raise HistoryImportError(differences)
    if progress:
        progress(_("%(references)d demandes, %(rows)d lignes validées en %(seconds).1f s") % {
            "references": result.created + result.extended + result.unchanged, "rows": result.rows,
            "seconds": result.validated})
    _bump_reference_sequences(highest)
    finishing = time.monotonic()
    prepared = [observer.finish() for observer in observers]
    result.materialised += time.monotonic() - finishing
    _materialise(result, prepared)


def _import_chunk(chunk: list[History], *, dataset_ids: dict[str, int], batch_size: int,
                  result: ImportResult, issues: list[ImportIssue]) -> list[tuple[int, History]]:
    """Compare one chunk of references with the database, then write what is new; returns the
    requests created, with their ids."""
    existing = dict(AccessRequest.objects.filter(reference__in=[h.reference for h in chunk])
                    .values_list("reference", "id"))
    known_events: dict[int, list[tuple[str, dt.datetime]]] = defaultdict(list)
    known_moves: dict[int, list[tuple[str, str, dt.datetime]]] = defaultdict(list)
    if existing:
        stored_moves = (HolderTaskEvent.objects.filter(task__request_id__in=list(existing.values()))
                        .exclude(from_state=F("to_state"))
                        .values_list("task__request_id", "task__holder__code", "to_state", "at"))
        for request_id, holder, to_state, at in stored_moves.iterator(chunk_size=batch_size * 4):
            known_moves[request_id].append((holder, to_state, at))
        # The state changes and the extensions (not the assignments, which are no history).
        stored = (Event.objects.filter(request_id__in=list(existing.values()))
                  .exclude(Q(from_state=F("to_state")) & ~Q(action=EventAction.EXTEND_REVIEW))
                  .order_by("request_id", "at", "id").values_list("request_id", "to_state", "at"))
        for request_id, to_state, at in stored.iterator(chunk_size=batch_size * 4):
            known_events[request_id].append((to_state, at))
    new: list[History] = []
    extensions: list[tuple[int, History, int]] = []
    task_extensions: list[tuple[int, History, int]] = []
    for history in chunk:
        request_id = existing.get(history.reference)
        if request_id is None:
            new.append(history)
            continue
        known = known_events.get(request_id, [])
        in_file = [(state, at) for _line, at, state, _extra in history.rows]
        moves_known = sorted(known_moves.get(request_id, []), key=_move_key)
        moves_in_file = [(move.holder, move.to_state, move.at) for move in history.task_moves]
        if known == in_file and moves_known == moves_in_file:
            result.unchanged += 1
        elif in_file[:len(known)] != known:
            issues.append(ImportIssue(history.first_line, history.reference, _diff_reason(known, in_file)))
        elif moves_in_file[:len(moves_known)] != moves_known:
            issues.append(ImportIssue(history.first_line, history.reference, _task_diff_reason(
                moves_known, moves_in_file)))
        else:
            if len(known) < len(in_file):
                extensions.append((request_id, history, len(known)))
            else:
                result.extended += 1  # only tasks move on (their request's rows were all known)
                result.request_ids.append(request_id)
            task_extensions.append((request_id, history, len(moves_known)))
    if issues:
        return []  # the transaction will be rolled back: keep comparing, stop writing
    events = _EventWriter(batch_size)
    request_id_of: dict[str, int] = {}
    if new:
        request_id_of = _create_requests(new, dataset_ids=dataset_ids, batch_size=batch_size, events=events,
                                         result=result)
    if extensions:
        _extend_requests(extensions, events=events, result=result)
    events.flush()
    result.events_written += events.written
    if new or task_extensions:
        result.task_events_written += _write_tasks(
            [(request_id_of[h.reference], h, 0) for h in new] + task_extensions, batch_size=batch_size)
    return [(request_id_of[h.reference], h) for h in new]


def _diff_reason(known: list[tuple[str, dt.datetime]], in_file: list[tuple[str, dt.datetime]]) -> str:
    index = next((i for i, (a, b) in enumerate(zip(known, in_file, strict=False)) if a != b),
                 min(len(known), len(in_file)))
    if index < len(known) and index < len(in_file):
        detail = _("événement n° %(n)d : « %(db_state)s » le %(db_at)s en base, « %(file_state)s » le %(file_at)s "
                   "dans le fichier") % {"n": index + 1, "db_state": known[index][0],
                                         "db_at": known[index][1].astimezone(_UTC).isoformat(),
                                         "file_state": in_file[index][0], "file_at": in_file[index][1].isoformat()}
    else:
        detail = _("la base a %(db)d événements, le fichier %(file)d") % {"db": len(known), "file": len(in_file)}
    return _("historique différent de celui de la base de données (%(detail)s)") % {"detail": detail}


_EVENT_FIELDS = ("request_id", "from_state", "to_state", "action", "at", "actor_id", "role", "payload")
_TASK_EVENT_FIELDS = ("task_id", "from_state", "to_state", "action", "at", "actor_id", "role", "payload")


def _copy_writes() -> bool:
    """Whether rows are written with PostgreSQL COPY (elsewhere: ``bulk_create``)."""
    return connection.vendor == "postgresql"


def _imported_request(request_id: int, history: History) -> tuple[
        int, tuple[bool, str, str], list[tuple[int, str, str, str, dt.datetime, dict[str, object]]]]:
    """A created request as the delay rules read it (``requests_importing``): its attributes and
    its events as ``_EventWriter`` wrote them, in the columns of ``clock_log_rows``."""
    events = []
    source = ""
    for index, (line, at, state, extra) in enumerate(history.rows):
        action = IMPORT_ACTION if index == 0 else _action(source, state)
        payload: dict[str, object] = {"source": "import", "line": line}
        if extra is not NO_EXTRA:
            payload.update(extra.payload())
        events.append((request_id, source, state, action, at, payload))
        source = state
    return request_id, (history.requires_matching, history.cesrees_opinion, history.route), events


def _event_line(owner_id: int, source: str, target: str, action: str, at: dt.datetime, line: int,
                extra: Extra) -> str:
    """An imported event (of a request or a task) as a line of COPY text (``_EVENT_FIELDS``):
    actor none, role ``system``, payload ``{"source": "import", "line": N}`` and the row's facts.
    States and actions come from the workflow's enums: no escaping needed."""
    facts = extra.payload() if extra is not NO_EXTRA else None
    payload = (pgcopy.copy_value({"source": "import", "line": line, **facts}) if facts
               else f'{{"source": "import", "line": {line:d}}}')
    return f"{owner_id:d}\t{source}\t{target}\t{action}\t{at.isoformat()}\t\\N\t{_SYSTEM}\t{payload}"


_SYSTEM = Role.SYSTEM.value


class _EventWriter:
    """Buffer event rows and insert them ``batch_size`` at a time (never all in memory); on
    PostgreSQL as lines of COPY text, in one COPY per chunk."""

    def __init__(self, batch_size: int) -> None:
        self.batch_size = batch_size
        self.copy = _copy_writes()
        # COPY streams any number of rows in one statement: flush only to bound the memory.
        self.flush_at = max(batch_size, pgcopy.COPY_BATCH) if self.copy else batch_size
        self.buffer: list[Event] = []
        self.lines: list[str] = []
        self.written = 0

    def add_history(self, request_id: int, history: History, start: int) -> None:
        rows = history.rows
        for index in range(start, len(rows)):
            line, at, state, extra = rows[index]
            if index == 0:
                source, action = "", IMPORT_ACTION
            else:
                source = rows[index - 1][2]
                action = _action(source, state)
            if self.copy:
                self.lines.append(_event_line(request_id, source, state, action, at, line, extra))
                continue
            self.buffer.append(Event(
                request_id=request_id, from_state=source, to_state=state, action=action, at=at, actor=None,
                role=Role.SYSTEM.value, payload={"source": "import", "line": line, **extra.payload()},
            ))
        if len(self.buffer) + len(self.lines) >= self.flush_at:
            self.flush()

    def flush(self) -> None:
        if self.lines:
            self.written += pgcopy.copy_lines(Event, _EVENT_FIELDS, self.lines)
            self.lines = []
        if self.buffer:
            Event.objects.bulk_create(self.buffer, batch_size=self.batch_size)
            self.written += len(self.buffer)
            self.buffer = []


def _create_requests(histories: list[History], *, dataset_ids: dict[str, int], batch_size: int,
                     events: _EventWriter, result: ImportResult) -> dict[str, int]:
    """Create the new requests and their events; their ids by reference."""
    if _copy_writes():
        ids = _copy_requests(histories, dataset_ids=dataset_ids)
    else:
        ids = _bulk_create_requests(histories, dataset_ids=dataset_ids, batch_size=batch_size)
    for request_id, history in zip(ids, histories, strict=True):
        events.add_history(request_id, history, 0)
        result.request_ids.append(request_id)
    result.created += len(ids)
    return {history.reference: request_id for request_id, history in zip(ids, histories, strict=True)}


_REQUEST_FIELDS = ("id", "reference", "title", "brings_own_data", "requires_matching", "route", "state",
                   "paused_from", "cesrees_opinion", "cesrees_extended", "cnil_extended", "created_at", "updated_at")


def _copy_requests(histories: list[History], *, dataset_ids: dict[str, int]) -> list[int]:
    """PostgreSQL: the requests and their datasets by COPY, ids reserved first (three queries)."""
    ids = pgcopy.allocate_ids(AccessRequest, len(histories))
    now = timezone.now()
    pgcopy.copy_rows(AccessRequest, _REQUEST_FIELDS, (
        (pk, h.reference, h.title, h.brings_own_data, h.requires_matching, h.route, h.state, h.paused_from,
         h.cesrees_opinion, h.cesrees_extended, h.cnil_extended, h.rows[0][1], now)
        for pk, h in zip(ids, histories, strict=True)))
    pgcopy.copy_rows(AccessRequest.datasets.through, ("accessrequest_id", "dataset_id"), (
        (pk, dataset_ids[code]) for pk, h in zip(ids, histories, strict=True) for code in h.datasets))
    return ids


def _bulk_create_requests(histories: list[History], *, dataset_ids: dict[str, int], batch_size: int) -> list[int]:
    requests = [
        AccessRequest(
            reference=h.reference, title=h.title, brings_own_data=h.brings_own_data,
            requires_matching=h.requires_matching, route=h.route, state=h.state, paused_from=h.paused_from,
            cesrees_opinion=h.cesrees_opinion, cesrees_extended=h.cesrees_extended, cnil_extended=h.cnil_extended,
        )
        for h in histories
    ]
    AccessRequest.objects.bulk_create(requests, batch_size=batch_size)
    # created_at is auto_now_add: bulk_create stamped "now"; give each request its first instant.
    _set_created_at([(request.pk, history.rows[0][1]) for request, history in zip(requests, histories, strict=True)],
                    batch_size=batch_size)
    through = AccessRequest.datasets.through
    links = [through(accessrequest_id=request.pk, dataset_id=dataset_ids[code])
             for request, history in zip(requests, histories, strict=True) for code in history.datasets]
    through.objects.bulk_create(links, batch_size=batch_size)
    return [request.pk for request in requests]


def _set_created_at(values: list[tuple[int, dt.datetime]], *, batch_size: int) -> None:
    """Set each request's ``created_at`` in one statement per batch."""
    table = AccessRequest._meta.db_table
    if connection.vendor == "postgresql":
        # One UPDATE joining two arrays: bulk_update's CASE would be quadratic in the batch size.
        with connection.cursor() as cursor:
            cursor.execute(
                f'UPDATE "{table}" AS r SET "created_at" = v.at '
                "FROM unnest(%s::bigint[], %s::timestamptz[]) AS v(id, at) WHERE r.id = v.id",
                [[pk for pk, _at in values], [at for _pk, at in values]],
            )
        return
    objs = []
    for pk, at in values:
        request = AccessRequest(pk=pk)
        request.created_at = at
        objs.append(request)
    AccessRequest.objects.bulk_update(objs, ["created_at"], batch_size=min(batch_size, 500))


def _extend_requests(extensions: list[tuple[int, History, int]], *, events: _EventWriter,
                     result: ImportResult) -> None:
    # The FSM field is protected on instances: move the state with queryset updates, grouped.
    groups: dict[tuple[str, str, str, bool, bool], list[int]] = defaultdict(list)
    for request_id, history, known in extensions:
        events.add_history(request_id, history, known)
        groups[history.state, history.paused_from, history.cesrees_opinion, history.cesrees_extended,
               history.cnil_extended].append(request_id)
        result.request_ids.append(request_id)
    now = timezone.now()
    for (state, paused_from, opinion, cesrees_extended, cnil_extended), ids in groups.items():
        values: dict[str, object] = {"state": state, "paused_from": paused_from, "updated_at": now}
        if opinion:
            values["cesrees_opinion"] = opinion
        if cesrees_extended:
            values["cesrees_extended"] = True
        if cnil_extended:
            values["cnil_extended"] = True
        AccessRequest.objects.filter(pk__in=ids).update(**values)
    result.extended += len(extensions)


def _move_key(move: tuple[str, str, dt.datetime]) -> tuple[dt.datetime, int, str]:
    """Task moves in a stable order: by instant, then the pathway's order, then the holder."""
    holder, state, at = move
    return at, _RANK.get(state, -1), holder


def _task_diff_reason(known: list[tuple[str, str, dt.datetime]], in_file: list[tuple[str, str, dt.datetime]]) -> str:
    index = next((i for i, (a, b) in enumerate(zip(known, in_file, strict=False)) if a != b),
                 min(len(known), len(in_file)))
    if index < len(known) and index < len(in_file):
        detail = _("mouvement n° %(n)d : « %(db_holder)s » vers « %(db_state)s » le %(db_at)s en base, "
                   "« %(file_holder)s » vers « %(file_state)s » le %(file_at)s dans le fichier") % {
            "n": index + 1, "db_holder": known[index][0], "db_state": known[index][1],
            "db_at": known[index][2].astimezone(_UTC).isoformat(), "file_holder": in_file[index][0],
            "file_state": in_file[index][1], "file_at": in_file[index][2].isoformat()}
    else:
        detail = _("la base a %(db)d mouvements, le fichier %(file)d") % {"db": len(known), "file": len(in_file)}
    return _("tâches des détenteurs différentes de celles de la base de données (%(detail)s)") % {"detail": detail}


def _write_tasks(items: list[tuple[int, History, int]], *, batch_size: int) -> int:
    """Open the tasks of ``items`` (request id, history, moves already stored) and append their
    moves from that index on: new tasks in bulk with their final state, then every event in bulk
    (a task that exists already, a rare re-import, is updated on its own). Returns the events written."""
    holders = {holder.code: holder for holder in DataHolder.objects.all()}
    existing = {(task.request_id, task.holder.code): task for task in HolderTask.objects.filter(
        request_id__in=[request_id for request_id, _history, _start in items]).select_related("holder")}
    plans: dict[tuple[int, str], tuple[bool, list[TaskMove]]] = {}
    for request_id, history, start in items:
        for move in history.task_moves[start:]:
            plans.setdefault((request_id, move.holder), (history.requires_matching, []))[1].append(move)
    # New tasks as plain values (_TASK_FIELDS without the id), their ids set once written.
    created: list[tuple[tuple[int, str], tuple[object, ...]]] = []
    task_ids = {key: task.pk for key, task in existing.items()}
    for (request_id, holder), (requires_matching, moves) in plans.items():
        delivered = next((move.at for move in moves if move.to_state == State.DELIVERED), None)
        task = existing.get((request_id, holder))
        if task is not None:
            values: dict[str, object] = {"state": moves[-1].to_state, "entered_at": moves[-1].at}
            if delivered is not None:
                values["delivered_at"] = delivered
            HolderTask.objects.filter(pk=task.pk).update(**values)
            continue
        created.append(((request_id, holder), (
            request_id, holders[holder].pk, moves[-1].to_state, requires_matching, moves[0].at, moves[-1].at,
            delivered, task_due_date(holders[holder], moves[0].at))))
    if _copy_writes():
        ids = pgcopy.allocate_ids(HolderTask, len(created))
        pgcopy.copy_rows(HolderTask, _TASK_FIELDS, ((pk, *values) for pk, (_key, values) in zip(ids, created, strict=True)))
    else:
        tasks = HolderTask.objects.bulk_create([HolderTask(**dict(zip(_TASK_FIELDS[1:], values, strict=True)))
                                                for _key, values in created], batch_size=batch_size)
        ids = [task.pk for task in tasks]
    task_ids.update((key, pk) for (key, _values), pk in zip(created, ids, strict=True))
    moved = [(task_ids[request_id, holder], move) for (request_id, holder), (_matching, moves) in plans.items()
             for move in moves]
    if _copy_writes():
        return pgcopy.copy_lines(HolderTaskEvent, _TASK_EVENT_FIELDS, (
            _event_line(task_id, move.from_state, move.to_state,
                        IMPORT_ACTION if not move.from_state else _action(move.from_state, move.to_state),
                        move.at, move.line, NO_EXTRA) for task_id, move in moved))
    HolderTaskEvent.objects.bulk_create([
        HolderTaskEvent(task_id=task_id, from_state=move.from_state, to_state=move.to_state,
                        action=IMPORT_ACTION if not move.from_state else _action(move.from_state, move.to_state),
                        at=move.at, actor=None, role=Role.SYSTEM.value, payload={"source": "import", "line": move.line})
        for task_id, move in moved], batch_size=batch_size)
    return len(moved)


_TASK_FIELDS = ("id", "request_id", "holder_id", "state", "requires_matching", "created_at", "entered_at",
                "delivered_at", "due_date")


def _raise_highest(highest: dict[int, int], reference: str) -> None:
    """Keep in ``highest`` each year's highest HDH-YYYY-NNNN number, ``reference`` included."""
    match = _REFERENCE_PATTERN.match(reference)
    if match:
        year, number = int(match[1]), int(match[2])
        highest[year] = max(highest.get(year, 0), number)


def _highest_references(references: Iterable[str]) -> dict[int, int]:
    highest: dict[int, int] = {}
    for reference in references:
        _raise_highest(highest, reference)
    return highest


def _bump_reference_sequences(highest: dict[int, int]) -> None:
    """Raise each year's sequence to at least the highest imported HDH-YYYY-NNNN number."""
    if not highest:
        return
    current = dict(ReferenceSequence.objects.filter(year__in=highest).values_list("year", "last"))
    ReferenceSequence.objects.bulk_create(
        [ReferenceSequence(year=year, last=number) for year, number in highest.items() if year not in current])
    for year, number in highest.items():
        if year in current and current[year] < number:
            ReferenceSequence.objects.filter(year=year, last__lt=number).update(last=number)


def _materialise(result: ImportResult, prepared: Sequence[Any] = ()) -> None:
    """Have the delays of the requests written recomputed, inside the transaction (delays/receivers.py);
    ``prepared``: what the receivers of ``requests_importing`` computed along the way."""
    if not result.request_ids:
        return
    started = time.monotonic()
    signals.requests_imported.send(sender=AccessRequest, request_ids=result.request_ids, prepared=prepared)
    result.materialised += time.monotonic() - started
