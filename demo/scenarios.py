"""The demo's open dossiers: a realistic load in every queue, dated relative to the seeding instant.

The generated history (demo.history) gives the past and a random flow of open dossiers; these
scenarios make sure each role finds, on first login, the cases a demo must show: dossiers just
filed, due within two working days, overdue, paused while the applicant answers, the CESREES's
urgent procedure and extension, the CNIL's renewal and tacit authorisation, long-running work at
the data holders (the CNAM, the ATIH and a hospital, the CHU de Bordeaux; one dossier has all three,
each holder's task at its own stage), deliveries waiting to be closed; and, for management, open
dossiers on track, at risk and late.

Every instant is computed from ``now`` (the statutory due dates by ``delays.rules``, with the
deployment's holidays), so the same badges show whenever the demo is seeded. The histories go
through the history import, which validates them with the workflow; the few actions that happen
"now" (a dossier filed by the demo applicant, a request for information, assignments) are the
seed command's, through the services.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from access_requests.workflow import CesreesOpinion, InformationReason, Role, Route, State
from delays import rules
from demo.history import COLUMNS, demo_calibration, demo_start, generate
from hdh_access.lib.dates import PARIS, add_working_days, is_working_day, paris_date, start_of_paris_day

# Keys of the scenarios the seed command acts on "now".
PAUSED_NOW = "secretariat-paused"
HOLDERS_APART = "holders-three"
# The columns the import reads beyond demo.history.COLUMNS.
EXTRA_COLUMNS = ("route", "reason", "opinion", "urgent", "holder")

# Typical stays (days) before the current stage: what a dossier went through to get there.
TYPICAL_DAYS: dict[str, float] = {
    State.DRAFT: 24, State.SUBMITTED: 8, State.CESREES_REVIEW: 28, State.CNIL_REVIEW: 46,
    State.CONTRACTING: 36, State.MATCHING: 45, State.EXTRACTION: 32,
}
# The path of each kind of dossier, from the draft.
PATH_MATCHING = (State.DRAFT, State.SUBMITTED, State.CESREES_REVIEW, State.CNIL_REVIEW, State.CONTRACTING,
                 State.MATCHING, State.EXTRACTION, State.DELIVERED)
PATH_SINGLE = tuple(s for s in PATH_MATCHING if s != State.MATCHING)
PATH_WITHOUT_REVIEW = (State.DRAFT, State.SUBMITTED, State.CONTRACTING, State.EXTRACTION, State.DELIVERED)


@dataclass(frozen=True)
class Step:
    """One row of a scenario's history: the state entered at ``at`` (and the import's extras)."""

    at: dt.datetime
    state: str
    reason: str = ""
    opinion: str = ""
    urgent: bool = False


@dataclass(frozen=True)
class Scenario:
    """One open (or just delivered) dossier of the demo."""

    key: str
    queue: str  # the role whose queue shows it (for the summary and the tests)
    title: str
    datasets: tuple[str, ...]
    steps: tuple[Step, ...]
    route: str = Route.STANDARD
    brings_own_data: bool = False
    demo_applicant: bool = False  # the demo applicant's own dossier (else another organisation's)
    tags: frozenset[str] = field(default_factory=frozenset)  # what it shows: "due_soon", "overdue", ...

    @property
    def created_at(self) -> dt.datetime:
        return self.steps[0].at

    def rows(self, reference: str) -> Iterator[dict[str, str]]:
        """Its rows in the import's format (demo.history.COLUMNS and EXTRA_COLUMNS)."""
        for index, step in enumerate(self.steps):
            row = {"reference": reference, "at": _format(step.at), "state": step.state, "datasets": "",
                   "requires_matching": "", "title": "", "route": "", "reason": step.reason,
                   "opinion": step.opinion, "urgent": "true" if step.urgent else ""}
            if index == 0:
                row.update(datasets=";".join(self.datasets), title=self.title, route=self.route,
                           requires_matching="true" if self.brings_own_data else "")
            yield row


def _format(instant: dt.datetime) -> str:
    return instant.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class _Calendar:
    """Dates and instants around ``now`` (Europe/Paris, the deployment's holidays)."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now.replace(microsecond=0)
        self.today = paris_date(now)
        self.subdiv = settings.HDH_HOLIDAYS_SUBDIV

    def at(self, day: dt.date, hour: int = 10, minute: int = 0) -> dt.datetime:
        """An instant of a past day on the Paris wall clock; today's are never after ``now``."""
        instant = dt.datetime.combine(day, dt.time(hour, minute), tzinfo=PARIS)
        if day >= self.today:
            instant = min(instant, max(start_of_paris_day(self.today), self.now - dt.timedelta(minutes=90)))
        return instant

    def days_ago(self, days: int, hour: int = 10) -> dt.datetime:
        return self.at(self.today - dt.timedelta(days=days), hour)

    def working_days_before(self, n: int) -> dt.date:
        day = self.today
        for _ in range(n):
            day -= dt.timedelta(days=1)
            while not is_working_day(day, self.subdiv):
                day -= dt.timedelta(days=1)
        return day

    def in_working_days(self, n: int) -> dt.date:
        return add_working_days(self.today, n, self.subdiv)

    def entered_for(self, stage: str, wanted: Callable[[dt.date], bool], *, latest: dt.date,
                    extended: bool = False, urgent: bool = False) -> dt.date:
        """The latest day on or before ``latest`` such that a visit to ``stage`` entered that day
        has a statutory due date ``wanted`` accepts."""
        day = latest
        for _ in range(400):
            clock = rules.statutory_due(stage, self.at(day), extended=extended, urgent=urgent, subdiv=self.subdiv)
            assert clock is not None, stage
            if wanted(clock.due_date):
                return day
            day -= dt.timedelta(days=1)
        raise ValueError(f"no entry day gives the wanted due date for {stage}")  # pragma: no cover


def _story(path: Iterable[str], current: str, entered: dt.datetime, *, days: Mapping[str, float] | None = None,
           extras: Mapping[str, Mapping[str, Any]] | None = None) -> list[Step]:
    """The steps of a dossier that entered ``current`` at ``entered``, after typical stays in the
    stages before it along ``path`` (``days`` overrides them; ``extras`` adds the import's extras
    to the row entering a state)."""
    path = list(path)
    before = path[:path.index(current)]
    stays: dict[str, float] = {**TYPICAL_DAYS, **(days or {})}
    instants = [entered]
    for state in reversed(before):
        instants.insert(0, instants[0] - dt.timedelta(days=stays[state]))
    states = [*before, current]
    return [Step(at=instant, state=state, **(extras or {}).get(state, {}))
            for instant, state in zip(instants, states, strict=True)]


def _then(steps: list[Step], *more: Step) -> list[Step]:
    return sorted([*steps, *more], key=lambda step: step.at)


# The CESREES opinion, on the row that leaves its review.
FAVOURABLE: dict[str, dict[str, Any]] = {State.CNIL_REVIEW: {"opinion": CesreesOpinion.FAVOURABLE}}
WITH_RECOMMENDATIONS: dict[str, dict[str, Any]] = {
    State.CNIL_REVIEW: {"opinion": CesreesOpinion.FAVOURABLE_WITH_RECOMMENDATIONS}}


def _until(limit: dt.date) -> Callable[[dt.date], bool]:
    """A due date on or before ``limit``."""
    return lambda due: due <= limit


def scenarios(now: dt.datetime) -> list[Scenario]:
    """Every scenario, dated from ``now``."""
    c = _Calendar(now)
    today = c.today
    out: list[Scenario] = []

    # --- the secretariat: completeness (7 working days) ------------------------------------------
    out.append(Scenario(
        "secretariat-filed-today", Role.SECRETARIAT, "Parcours de soins après un AVC — cohorte nationale 2024",
        ("snds", "oscour"), tuple(_story(PATH_MATCHING, State.SUBMITTED, c.at(today, 9), days={State.DRAFT: 30})),
        demo_applicant=True, tags=frozenset({"just_filed"})))
    out.append(Scenario(
        "secretariat-filed-yesterday", Role.SECRETARIAT,
        "Polymédication du sujet âgé — déclaration de conformité MR-004", ("snds",),
        tuple(_story(PATH_WITHOUT_REVIEW, State.SUBMITTED, c.at(c.working_days_before(1), 15))),
        route=Route.REFERENCE_METHODOLOGY, tags=frozenset({"just_filed"})))
    for key, n, title, codes in (
        ("secretariat-due-tomorrow", 1, "Insuffisance cardiaque et réhospitalisations — étude en vie réelle",
         ("snds", "precision_predict")),
        ("secretariat-due-in-2-days", 2, "Cancers du rein : survie et parcours — suivi à cinq ans", ("snds", "uroccr")),
    ):
        due = c.in_working_days(n)
        entered = c.entered_for(State.SUBMITTED, _until(due), latest=today)
        out.append(Scenario(key, Role.SECRETARIAT, title, codes, tuple(_story(PATH_MATCHING, State.SUBMITTED, c.at(entered, 11))),
                            tags=frozenset({"due_soon"})))
    limit = today - dt.timedelta(days=3)
    entered = c.entered_for(State.SUBMITTED, _until(limit), latest=today)
    out.append(Scenario(
        "secretariat-overdue", Role.SECRETARIAT, "Santé mentale des adolescents — analyse des inégalités territoriales",
        ("snds", "oscour", "isis"), tuple(_story(PATH_MATCHING, State.SUBMITTED, c.at(entered, 14))),
        tags=frozenset({"overdue"})))
    # Paused by the secretariat now (the seed command asks, through the services).
    out.append(Scenario(
        PAUSED_NOW, Role.SECRETARIAT, "Diabète de type 2 et complications — cohorte nationale",
        ("snds", "apriorics"), tuple(_story(PATH_MATCHING, State.SUBMITTED, c.at(c.working_days_before(3), 10))),
        demo_applicant=True, tags=frozenset({"paused"})))

    # --- the CESREES: 1 month, 15 days when urgent, extended once by 1 month ----------------------
    out.append(Scenario(
        "cesrees-arrived", Role.CESREES, "Vaccination et infections respiratoires — étude en vie réelle",
        ("snds", "oscour"), tuple(_story(PATH_MATCHING, State.CESREES_REVIEW, c.days_ago(2)))))
    entered = c.entered_for(State.CESREES_REVIEW, _until(c.in_working_days(4)), latest=today, urgent=True)
    out.append(Scenario(
        "cesrees-urgent", Role.CESREES, "Recours aux urgences pendant les vagues de chaleur — été 2026",
        ("oscour", "snds"), tuple(_story(PATH_MATCHING, State.CESREES_REVIEW, c.at(entered, 16),
                                         extras={State.CESREES_REVIEW: {"urgent": True}})),
        tags=frozenset({"urgent", "due_soon"})))
    entered = c.entered_for(State.CESREES_REVIEW, _until(c.in_working_days(3)), latest=today)
    out.append(Scenario(
        "cesrees-due-soon", Role.CESREES, "Sarcomes : traitements et survie — cohorte nationale",
        ("snds", "deepsarc"), tuple(_story(PATH_MATCHING, State.CESREES_REVIEW, c.at(entered, 10))),
        tags=frozenset({"due_soon"})))
    entered = c.entered_for(State.CESREES_REVIEW, _until(today - dt.timedelta(days=5)), latest=today)
    out.append(Scenario(
        "cesrees-overdue", Role.CESREES, "Chirurgie bariatrique à long terme — comparaison de stratégies thérapeutiques",
        ("snds", "oscour"), tuple(_story(PATH_MATCHING, State.CESREES_REVIEW, c.at(entered, 10))),
        tags=frozenset({"overdue"})))
    entered_day = today - dt.timedelta(days=40)
    steps = _story(PATH_MATCHING, State.CESREES_REVIEW, c.at(entered_day, 10))
    out.append(Scenario(
        "cesrees-extended", Role.CESREES, "Maladies rares et errance diagnostique — cohorte nationale",
        ("snds", "realigist"),
        tuple(_then(steps, Step(c.at(entered_day + dt.timedelta(days=22), 15), State.CESREES_REVIEW))),
        demo_applicant=True, tags=frozenset({"extended"})))

    # --- the CNIL: 2 months, renewed once by 2 months ---------------------------------------------
    out.append(Scenario(
        "cnil-arrived", Role.CNIL, "Consommation d'antibiotiques chez l'enfant — analyse des inégalités territoriales",
        ("snds", "oscour"), tuple(_story(PATH_MATCHING, State.CNIL_REVIEW, c.days_ago(12), extras=WITH_RECOMMENDATIONS))))
    for key, n, title, codes in (
        ("cnil-due-soon", 2, "Cancer du sein triple négatif — suivi à cinq ans", ("snds", "precision_predict")),
        ("cnil-due-this-week", 4, "Imagerie et parcours en cancérologie — étude en vie réelle", ("snds", "apriorics")),
    ):
        entered = c.entered_for(State.CNIL_REVIEW, _until(c.in_working_days(n)), latest=today)
        out.append(Scenario(key, Role.CNIL, title, codes,
                            tuple(_story(PATH_MATCHING, State.CNIL_REVIEW, c.at(entered, 11), extras=FAVOURABLE)),
                            tags=frozenset({"due_soon"})))
    # Overdue (silence: tacit authorisation, the CESREES opinion being favourable), after an
    # extended CESREES review: filed long ago enough to be at risk of missing the 7 months.
    entered = c.entered_for(State.CNIL_REVIEW, _until(today - dt.timedelta(days=9)), latest=today)
    steps = _story(PATH_MATCHING, State.CNIL_REVIEW, c.at(entered, 10), days={State.CESREES_REVIEW: 55},
                   extras=FAVOURABLE)
    cesrees_entry = next(step.at for step in steps if step.state == State.CESREES_REVIEW)
    out.append(Scenario(
        "cnil-overdue", Role.CNIL, "Dispositifs médicaux implantables — évaluation médico-économique",
        ("snds", "oscour", "uroccr"),
        tuple(_then(steps, Step(cesrees_entry + dt.timedelta(days=21), State.CESREES_REVIEW))),
        tags=frozenset({"overdue", "at_risk"})))
    entered_day = today - dt.timedelta(days=75)
    steps = _story(PATH_MATCHING, State.CNIL_REVIEW, c.at(entered_day, 10), extras=FAVOURABLE)
    out.append(Scenario(
        "cnil-renewed", Role.CNIL, "Tumeurs stromales gastro-intestinales — cohorte nationale",
        ("snds", "realigist"), tuple(_then(steps, Step(c.at(entered_day + dt.timedelta(days=50), 14), State.CNIL_REVIEW))),
        demo_applicant=True, tags=frozenset({"extended"})))
    # Paused by the CNIL (a precision asked ten days ago).
    steps = _story(PATH_MATCHING, State.CNIL_REVIEW, c.days_ago(30), extras=FAVOURABLE)
    out.append(Scenario(
        "cnil-paused", Role.CNIL, "Parcours de soins après un AVC — évaluation médico-économique",
        ("snds", "oscour"),
        tuple(_then(steps, Step(c.days_ago(10, 15), State.AWAITING_APPLICANT, reason=InformationReason.OTHER))),
        tags=frozenset({"paused"})))

    # --- the data holders: contracting, matching, extraction (no legal period) ---------------------
    out.append(Scenario(
        "cnam-contracting", Role.DATA_HOLDER, "Insuffisance cardiaque et réhospitalisations — cohorte nationale",
        ("snds", "oscour"), tuple(_story(PATH_MATCHING, State.CONTRACTING, c.days_ago(20), extras=FAVOURABLE)),
        tags=frozenset({"cnam", "on_track"})))
    out.append(Scenario(
        "cnam-matching-long", Role.DATA_HOLDER, "Polymédication du sujet âgé — cohorte nationale",
        ("snds", "precision_predict"),
        tuple(_story(PATH_MATCHING, State.MATCHING, c.days_ago(150), extras=FAVOURABLE)),
        tags=frozenset({"cnam", "long_running", "late"})))
    out.append(Scenario(
        "cnam-extraction", Role.DATA_HOLDER, "Sarcomes : traitements et survie — étude en vie réelle",
        ("snds", "deepsarc"), tuple(_story(PATH_MATCHING, State.EXTRACTION, c.days_ago(15), extras=FAVOURABLE)),
        demo_applicant=True, tags=frozenset({"cnam"})))
    out.append(Scenario(
        "cnam-extraction-mr", Role.DATA_HOLDER, "Consommation d'antibiotiques chez l'enfant — déclaration MR-005",
        ("snds",), tuple(_story(PATH_WITHOUT_REVIEW, State.EXTRACTION, c.days_ago(25))),
        route=Route.REFERENCE_METHODOLOGY, tags=frozenset({"cnam"})))
    out.append(Scenario(
        "hospital-contracting-long", Role.DATA_HOLDER, "Cancers du rein : survie et parcours — cohorte nationale",
        ("snds", "uroccr"), tuple(_story(PATH_MATCHING, State.CONTRACTING, c.days_ago(80), extras=FAVOURABLE)),
        tags=frozenset({"hospital", "long_running", "at_risk"})))
    out.append(Scenario(
        "hospital-matching", Role.DATA_HOLDER, "Cancers du rein : traitements ciblés — étude en vie réelle",
        ("uroccr", "snds"), tuple(_story(PATH_MATCHING, State.MATCHING, c.days_ago(10), extras=FAVOURABLE)),
        tags=frozenset({"hospital"})))
    out.append(Scenario(
        "hospital-extraction-long", Role.DATA_HOLDER, "Cancers du rein : récidives — suivi à cinq ans",
        ("uroccr", "snds", "oscour"),
        tuple(_story(PATH_MATCHING, State.EXTRACTION, c.days_ago(120), days={State.MATCHING: 70}, extras=FAVOURABLE)),
        tags=frozenset({"hospital", "long_running", "late"})))
    out.append(Scenario(
        "hospital-own-cohort", Role.DATA_HOLDER, "Cancers du rein : cohorte du réseau UroCCR et données de l'équipe",
        ("uroccr",), tuple(_story(PATH_MATCHING, State.MATCHING, c.days_ago(35), extras=FAVOURABLE)),
        brings_own_data=True, tags=frozenset({"hospital"})))

    # Three data holders on one request (the CNAM, the ATIH, the CHU de Bordeaux): imported in
    # contracting, the seed command moves the CNAM's task to extraction and the ATIH's to matching
    # now, through the services (HOLDERS_APART); the request waits on the CHU's contract.
    out.append(Scenario(
        HOLDERS_APART, Role.DATA_HOLDER, "Cancers du rein : parcours hospitaliers et survie — trois sources",
        ("snds", "pmsi", "uroccr"),
        tuple(_story(PATH_MATCHING, State.CONTRACTING, c.days_ago(95), extras=FAVOURABLE)),
        demo_applicant=True, tags=frozenset({"cnam", "atih", "hospital", "three_holders"})))
    out.append(Scenario(
        "atih-matching", Role.DATA_HOLDER, "Insuffisance cardiaque : séjours hospitaliers et consommation de soins",
        ("snds", "pmsi"), tuple(_story(PATH_MATCHING, State.MATCHING, c.days_ago(40), extras=FAVOURABLE)),
        tags=frozenset({"cnam", "atih"})))
    out.append(Scenario(
        "atih-extraction-long", Role.DATA_HOLDER, "Recours aux urgences et hospitalisations — étude en vie réelle",
        ("pmsi", "oscour"),
        tuple(_story(PATH_MATCHING, State.EXTRACTION, c.days_ago(85), extras=FAVOURABLE)),
        tags=frozenset({"atih", "long_running"})))

    # --- the platform team: delivered, waiting to be closed ---------------------------------------
    delivered: tuple[tuple[str, int, str, tuple[str, ...], tuple[str, ...], str, bool], ...] = (
        ("platform-delivered-2-days", 2, "Vaccination et infections respiratoires — cohorte nationale",
         ("snds", "oscour"), PATH_MATCHING, Route.STANDARD, True),
        ("platform-delivered-9-days", 9, "Chirurgie bariatrique à long terme — suivi à cinq ans",
         ("snds", "precision_predict"), PATH_MATCHING, Route.STANDARD, False),
        ("platform-delivered-26-days", 26, "Diabète de type 2 — échantillon du SNDS", ("esnd",),
         PATH_WITHOUT_REVIEW, Route.SIMPLIFIED, False),
    )
    for key, days_ago, title, sources, path, route, mine in delivered:
        extras = FAVOURABLE if route == Route.STANDARD else None
        out.append(Scenario(key, Role.PLATFORM, title, sources,
                            tuple(_story(path, State.DELIVERED, c.days_ago(days_ago, 16), extras=extras)),
                            route=route, demo_applicant=mine))
    return out


# --- the demo's whole history -----------------------------------------------------------------
@dataclass
class DemoHistory:
    """The rows of the demo's import file, and the references given to what it holds."""

    start: dt.datetime  # the first generated creation instant cannot be earlier
    rows: list[dict[str, str]]
    generated: list[str]  # the generated histories' references, in order of creation
    scenarios: dict[str, tuple[str, Scenario]]  # key -> (reference, scenario)

    @property
    def columns(self) -> tuple[str, ...]:
        return (*COLUMNS, *EXTRA_COLUMNS)


def demo_history(now: dt.datetime, *, requests: int, seed: int,
                 holders_of: Mapping[str, str] | None = None) -> DemoHistory:
    """The generated past (demo.history with the demo's calibration, up to ``now``; each data
    holder at its own pace after the decision when ``holders_of`` maps dataset codes to holder
    codes) and the scenarios, references HDH-YYYY-NNNN numbered together in order of creation."""
    histories: list[tuple[dt.datetime, list[dict[str, str]], str, Scenario | None]] = []
    current: list[dict[str, str]] = []
    now = now.astimezone(dt.UTC)
    start = demo_start(now)
    for row in generate(requests, seed=seed, as_of=now, start=start, end=now,
                        calibration=demo_calibration(now), holders_of=holders_of):
        if current and current[0]["reference"] != row["reference"]:
            histories.append((_parsed(current[0]["at"]), current, "", None))
            current = []
        current.append(row)
    if current:
        histories.append((_parsed(current[0]["at"]), current, "", None))
    for made in scenarios(now):
        histories.append((made.created_at, list(made.rows("")), made.key, made))
    histories.sort(key=lambda history: history[0])

    numbers: dict[int, int] = defaultdict(int)
    result = DemoHistory(start=start, rows=[], generated=[], scenarios={})
    for created, rows, key, scenario in histories:
        year = created.astimezone(dt.UTC).year
        numbers[year] += 1
        reference = f"HDH-{year}-{numbers[year]:04d}"
        for row in rows:
            result.rows.append({**dict.fromkeys(result.columns, ""), **row, "reference": reference})
        if scenario is None:
            result.generated.append(reference)
        else:
            result.scenarios[key] = (reference, scenario)
    return result


def _parsed(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def write_demo_csv(path: str | os.PathLike[str], history: DemoHistory) -> None:
    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=history.columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(history.rows)
