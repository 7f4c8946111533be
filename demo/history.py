"""Generate a realistic history of access requests, in the import format of ``import_history``.

The figures follow docs DOMAIN.md ("Measured reality"):

- submissions spread over 2019–2025, more each year (80 projects in 2022, 200+ by 2025);
- about 80 % of requests combine several catalogue databases, so they need matching;
- mostly the standard route (CESREES then CNIL); some reference-methodology declarations (a single
  database, no matching) and simplified accesses to the SNDS sample (``esnd`` only) go straight
  from ``submitted`` to ``contracting``;
- stage durations are lognormal; for the 2019 cohort they average about 18 months from
  submission to delivery: completeness 0.3 month, CESREES 1.25, CNIL 2, contracting 3,
  matching + extraction 13 when sources are linked and 7 otherwise (about 12 over all projects:
  the bottleneck), plus about 0.75 month of applicant answers;
  later cohorts improve, mostly at the data holders, towards 9–10 months in 2025;
- 0 to 3 requests for information per dossier, each at a random pausable stage, the dossier going
  back to the stage that asked once the applicant answers (0.5 month on average);
- about 5 % refusals (at completeness or by the CNIL) and 5 % withdrawals; most delivered
  projects are closed later; some drafts are never submitted;
- histories stop at ``as_of``: recent dossiers are still open.

That is the benchmarks' calibration (``BENCHMARK``). The demo's (``demo_calibration``) is set
relative to the instant it is seeded, so the demo looks the same whenever it is loaded: four
years of submissions up to that instant, the first year's cohort slower (about 11 months of
institution time) and the last two years' at today's pace, where the median dossier is delivered
in about 7 months but slow ones drag the mean above the target (the 7-month target is still
missed on average, DOMAIN.md) and the medians of the stages sum to about 6 months, so a dossier
filed today is forecast on track and one that has fallen behind is at risk. More single-source
projects and more of the two routes without committee review, so that every route has at least
20 deliveries (enough for a forecast, delays.rules.MIN_FORECAST_HISTORY); nearly every delivered
project is closed within weeks, so the platform team's queue holds the recent deliveries only.

About 10 rows per request on average, so 100,000 requests make about a million rows. Instants
are in UTC with ``Z``. The route column is not written: the importer infers it.

Used by ``seed_demo`` (demo data) and by the benchmarks; also a script::

    python benchmarks/generate_history.py --requests 100000 --out /tmp/history.csv [--seed 42] [--as-of 2025-12-31]
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import os
import random
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

COLUMNS = ("reference", "at", "state", "datasets", "requires_matching", "title")
MONTH = dt.timedelta(days=30.4375)
FIRST_SUBMISSION = dt.datetime(2019, 1, 1, tzinfo=dt.UTC)
LAST_SUBMISSION = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
# Progress of the cohorts is measured over this span (2019 → mid-2025).
PROGRESS_SPAN = dt.datetime(2025, 7, 1, tzinfo=dt.UTC) - FIRST_SUBMISSION

# Mean stage durations in months for the 2019 cohort, and the lognormal spread.
STAGE_MONTHS = {
    "draft": (1.0, 0.8),
    "submitted": (0.3, 0.5),
    "submitted_simplified": (0.45, 0.4),  # HDH has 15 days, often a little more
    "cesrees_review": (1.25, 0.35),
    "cnil_review": (2.0, 0.4),
    "contracting": (3.0, 0.5),
    "matching": (7.5, 0.5),
    "extraction_after_matching": (5.5, 0.5),
    "extraction": (7.0, 0.5),
    "awaiting_applicant": (0.5, 0.7),
}
# How much each stage improves from the 2019 cohort to 2025 (factor = 1 - improvement * progress).
IMPROVEMENT = {
    "submitted": 0.15, "cesrees_review": 0.15, "cnil_review": 0.15,
    "contracting": 0.55, "matching": 0.55, "extraction": 0.55,
}
PAUSABLE = ("submitted", "cesrees_review", "cnil_review", "contracting", "matching")

# Catalogue codes (catalog migration 0002) and how often a multi-source project asks for each.
SNDS = "snds"
ESND = "esnd"
PARTNER_WEIGHTS = {
    "oscour": 6, "deepsarc": 1.5, "apriorics": 1.5, "precision_predict": 2, "isis": 1.5,
    "realigist": 1, "uroccr": 1.5,
}

TOPICS = (
    "Parcours de soins après un AVC", "Insuffisance cardiaque et réhospitalisations",
    "Consommation d'antibiotiques chez l'enfant", "Sarcomes : traitements et survie",
    "Cancers du rein : survie et parcours", "Diabète de type 2 et complications",
    "Vaccination et infections respiratoires", "Santé mentale des adolescents",
    "Recours aux urgences pendant les vagues de chaleur", "Cancer du sein triple négatif",
    "Maladies rares et errance diagnostique", "Polymédication du sujet âgé",
    "Chirurgie bariatrique à long terme", "Tumeurs stromales gastro-intestinales",
    "Imagerie et parcours en cancérologie", "Dispositifs médicaux implantables",
)
QUALIFIERS = (
    "cohorte nationale", "étude en vie réelle", "analyse des inégalités territoriales",
    "évaluation médico-économique", "suivi à cinq ans", "comparaison de stratégies thérapeutiques",
)


@dataclass(frozen=True)
class Calibration:
    """How the generated histories behave. The defaults are the benchmarks' (the module docstring);
    ``demo_calibration`` gives the demo's, relative to the instant it is seeded.

    ``stage_months``: mean months and lognormal spread of each stage for the first cohort;
    ``improvement``: how much each stage's mean shrinks by the time the cohorts' progress reaches
    1, ``progress_span`` after ``first_submission``; the shares of the routes and of the
    single-source standard projects; the share of delivered projects closed, and when.
    """

    stage_months: Mapping[str, tuple[float, float]] = field(default_factory=lambda: dict(STAGE_MONTHS))
    improvement: Mapping[str, float] = field(default_factory=lambda: dict(IMPROVEMENT))
    first_submission: dt.datetime = FIRST_SUBMISSION
    progress_span: dt.timedelta = PROGRESS_SPAN
    simplified_share: float = 0.04
    reference_methodology_share: float = 0.08
    single_source_share: float = 0.1
    closed_share: float = 0.8
    closed_after_days: tuple[float, float] = (180, 730)


BENCHMARK = Calibration()

# The demo (seed_demo): means at the start of its four years, and how much they shrink by the
# fourth (the data holders halve their time, the committees change little). Wider spreads at the
# data holders than the benchmarks': a few very slow dossiers, as in reality.
DEMO_STAGE_MONTHS = {
    "draft": (0.8, 0.8),
    "submitted": (0.3, 0.5),
    "submitted_simplified": (0.4, 0.4),
    "cesrees_review": (1.0, 0.3),
    "cnil_review": (1.65, 0.45),
    "contracting": (2.3, 0.7),
    "matching": (3.3, 0.8),
    "extraction_after_matching": (2.25, 0.8),
    "extraction": (2.8, 0.8),
    "awaiting_applicant": (0.5, 0.7),
}
DEMO_IMPROVEMENT = {
    "submitted": 0.1, "cesrees_review": 0.1, "cnil_review": 0.1,
    "contracting": 0.5, "matching": 0.6, "extraction": 0.55,
}
DEMO_YEARS = 4


def demo_calibration(as_of: dt.datetime) -> Calibration:
    """The demo's calibration for a demo seeded at ``as_of`` (see the module docstring)."""
    return Calibration(
        stage_months=DEMO_STAGE_MONTHS, improvement=DEMO_IMPROVEMENT,
        first_submission=demo_start(as_of), progress_span=dt.timedelta(days=365.25 * (DEMO_YEARS - 1)),
        simplified_share=0.11, reference_methodology_share=0.11, single_source_share=0.25,
        closed_share=0.99, closed_after_days=(5, 30),
    )


def demo_start(as_of: dt.datetime) -> dt.datetime:
    """When the demo's history starts: DEMO_YEARS before ``as_of`` (in UTC: the generator adds
    durations to it, which must be elapsed time, not wall-clock time across a change of clocks)."""
    return (as_of.astimezone(dt.UTC) - dt.timedelta(days=round(365.25 * DEMO_YEARS))).replace(microsecond=0)


def _lognormal(rng: random.Random, mean: float, sigma: float) -> float:
    """A lognormal draw with the given mean."""
    return rng.lognormvariate(math.log(mean) - sigma * sigma / 2, sigma)


def _months(rng: random.Random, key: str, factor: float = 1.0,
            stage_months: Mapping[str, tuple[float, float]] = STAGE_MONTHS) -> dt.timedelta:
    mean, sigma = stage_months[key]
    # At least an hour, so two rows of a history never share an instant.
    return max(_lognormal(rng, mean * factor, sigma) * MONTH, dt.timedelta(hours=1))


def _creation_instants(rng: random.Random, n: int, start: dt.datetime, end: dt.datetime) -> list[dt.datetime]:
    """Creation instants from ``start`` to ``end``, denser over time (the volume grows)."""
    span = (end - start).total_seconds()
    # density ∝ t^0.6: about 2.4 times more requests in the last year than in the first.
    return sorted(start + dt.timedelta(seconds=round(span * rng.random() ** (1 / 1.6)))
                  for _ in range(n))


def _datasets(rng: random.Random, route: str, single_source_share: float = 0.1) -> tuple[list[str], bool]:
    """The datasets asked for, and whether the applicant brings its own data to link."""
    if route == "simplified":
        return [ESND], False
    if route == "reference_methodology":
        return [SNDS if rng.random() < 0.85 else "oscour"], False
    if rng.random() < 1 - single_source_share:  # several sources: 2 to 6
        count = min(len(PARTNER_WEIGHTS), max(1, round(rng.expovariate(1 / 1.4))))
        partners: list[str] = []
        codes, weights = list(PARTNER_WEIGHTS), list(PARTNER_WEIGHTS.values())
        while len(partners) < count:
            code = rng.choices(codes, weights)[0]
            if code not in partners:
                partners.append(code)
        first = [SNDS] if rng.random() < 0.9 else [ESND]
        return first + partners, False
    # One database; a third of them link it with the applicant's own cohort.
    return [rng.choice((SNDS, SNDS, "oscour", "isis", "uroccr"))], rng.random() < 1 / 3


class _Timeline:
    """The states a request enters, built forward in time."""

    def __init__(self, rng: random.Random, start: dt.datetime, progress: float, calibration: Calibration) -> None:
        self.rng = rng
        self.now = start
        self.progress = progress
        self.calibration = calibration
        self.rows: list[tuple[dt.datetime, str]] = []

    def enter(self, state: str) -> None:
        self.rows.append((self.now, state))

    def factor(self, stage: str) -> float:
        return 1 - self.calibration.improvement.get(stage, 0.0) * self.progress

    def months(self, key: str, factor: float = 1.0) -> dt.timedelta:
        return _months(self.rng, key, factor, self.calibration.stage_months)

    def stay(self, state: str, duration: dt.timedelta, pauses: int) -> None:
        """Spend ``duration`` of institution time in ``state`` (already entered), with pauses."""
        cuts = sorted(self.rng.random() for _ in range(pauses))
        done = 0.0
        for cut in cuts:
            self.now += duration * (cut - done)
            done = cut
            self.enter("awaiting_applicant")
            self.now += self.months("awaiting_applicant")
            self.enter(state)
        self.now += duration * (1 - done)


def _history(rng: random.Random, reference: str, created: dt.datetime,
             calibration: Calibration = BENCHMARK) -> tuple[list[tuple[dt.datetime, str]], dict]:
    """One request's full history (not yet cut at as_of) and its first-row attributes."""
    draw = rng.random()
    simplified = calibration.simplified_share
    route = ("simplified" if draw < simplified
             else "reference_methodology" if draw < simplified + calibration.reference_methodology_share
             else "standard")
    datasets, own_data = _datasets(rng, route, calibration.single_source_share)
    requires_matching = own_data or len(datasets) >= 2
    explicit = "true" if own_data else ("true" if requires_matching and rng.random() < 0.1 else "")
    attributes = {
        "datasets": ";".join(datasets), "requires_matching": explicit,
        "title": f"{rng.choice(TOPICS)} — {rng.choice(QUALIFIERS)}",
    }

    timeline = _Timeline(rng, created, 0.0, calibration)
    if rng.random() < 0.8:
        timeline.enter("draft")
        if rng.random() < 0.015:  # abandoned before submission
            timeline.now += timeline.months("draft") * 2
            timeline.enter("withdrawn")
            return timeline.rows, attributes
        timeline.now += timeline.months("draft")
    submitted_at = timeline.now
    timeline.progress = min(max((submitted_at - calibration.first_submission) / calibration.progress_span, 0.0), 1.0)
    timeline.enter("submitted")

    path = ["submitted"]
    if route == "standard":
        path += ["cesrees_review", "cnil_review"]
    path.append("contracting")
    if requires_matching:
        path.append("matching")
    path.append("extraction")

    # Requests for information, each at a random pausable stage of the path.
    pauses: dict[str, int] = defaultdict(int)
    pausable = [stage for stage in path if stage in PAUSABLE]
    for _ in range(rng.choices((0, 1, 2, 3), (20, 30, 30, 20))[0]):
        pauses[rng.choice(pausable)] += 1

    # How it ends: refusal (at completeness or by the CNIL), withdrawal, or delivery.
    ending = rng.random()
    refused_at = withdrawn_at = None
    if ending < 0.05:
        refused_at = "cnil_review" if route == "standard" and rng.random() < 0.6 else "submitted"
    elif ending < 0.10:
        withdrawn_at = rng.choice(path)

    for index, stage in enumerate(path):
        if index:
            timeline.enter(stage)
        key = stage
        if stage == "submitted" and route == "simplified":
            key = "submitted_simplified"
        elif stage == "extraction" and requires_matching:
            key = "extraction_after_matching"
        duration = timeline.months(key, timeline.factor(stage))
        if stage == withdrawn_at:
            # Withdrawn part-way through the stage, sometimes while waiting for the applicant.
            timeline.stay(stage, duration * rng.uniform(0.2, 0.9), pauses[stage])
            if stage in PAUSABLE and rng.random() < 0.3:
                timeline.enter("awaiting_applicant")
                timeline.now += timeline.months("awaiting_applicant") * 3
            timeline.enter("withdrawn")
            return timeline.rows, attributes
        timeline.stay(stage, duration, pauses[stage])
        if stage == refused_at:
            timeline.enter("rejected")
            return timeline.rows, attributes
    timeline.enter("delivered")
    if rng.random() < calibration.closed_share:
        timeline.now += dt.timedelta(days=rng.uniform(*calibration.closed_after_days))
        timeline.enter("closed")
    return timeline.rows, attributes


# After the decision each data holder works at its own pace: the slowest (the CNAM, when it is one
# of them; SNDS extractions take 10 to 12 months) moves when the request does, the others earlier.
SLOWEST_HOLDER = "cnam"
POST_DECISION = ("contracting", "matching", "extraction")
HOLDER_PACE = (0.3, 0.9)  # where in the request's own step the faster holders move


def _holder_rows(rng: random.Random, rows: list[tuple[dt.datetime, str]], holders: list[str]
                 ) -> list[tuple[dt.datetime, str, str]]:
    """``rows`` with each post-decision move (into matching, extraction or delivered, from the
    state before) made by each holder's own row (the history import's ``holder`` column): the
    slowest holder's at the request's instant, the others' part-way through the step. The import
    writes the request's own move when its last holder moves, at the same instants as before."""
    slowest = SLOWEST_HOLDER if SLOWEST_HOLDER in holders else rng.choice(holders)
    out: list[tuple[dt.datetime, str, str]] = []
    for index, (instant, state) in enumerate(rows):
        previous = rows[index - 1] if index else None
        if previous is None or state not in ("matching", "extraction", "delivered") or previous[1] not in POST_DECISION:
            out.append((instant, state, ""))
            continue
        step = instant - previous[0]
        for holder in holders:
            at = instant if holder == slowest else (previous[0] + step * rng.uniform(*HOLDER_PACE)).replace(microsecond=0)
            out.append((min(max(at, previous[0] + dt.timedelta(seconds=1)), instant), state, holder))
    out.sort(key=lambda row: row[0])
    return out


def _format(instant: dt.datetime) -> str:
    return instant.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def generate(n_requests: int, *, seed: int = 42, as_of: dt.datetime,
             start: dt.datetime = FIRST_SUBMISSION, end: dt.datetime | None = None,
             calibration: Calibration = BENCHMARK, holders_of: Mapping[str, str] | None = None
             ) -> Iterator[dict[str, str]]:
    """Yield the CSV rows (dicts keyed by ``COLUMNS``) of ``n_requests`` realistic histories.

    With ``holders_of`` (each dataset code's data holder code), the rows also have a ``holder``
    key: a request with two holders or more moves after the decision holder by holder
    (``_holder_rows``), from a random stream of its own, so the requests' histories are the same
    with or without it.

    Requests are created from ``start`` to ``end`` (default: ``as_of``, at the latest
    LAST_SUBMISSION) and their histories cut at ``as_of``. Deterministic for a given seed. Each
    request's rows come in time order, requests in order of creation; references are
    HDH-YYYY-NNNN numbered per year of creation.
    """
    if as_of.tzinfo is None or (end is not None and end.tzinfo is None):
        raise ValueError("as_of and end must be aware datetimes")
    end = min(as_of, LAST_SUBMISSION) if end is None else min(as_of, end)
    if end <= start:
        raise ValueError(f"as_of must be after {start:%Y-%m-%d}")
    rng = random.Random(seed)
    numbers: dict[int, int] = defaultdict(int)
    for created in _creation_instants(rng, n_requests, start, end):
        created = created.replace(microsecond=0)
        numbers[created.year] += 1
        reference = f"HDH-{created.year}-{numbers[created.year]:04d}"
        rows, attributes = _history(rng, reference, created, calibration)
        holders = sorted({holders_of[code] for code in attributes["datasets"].split(";") if code in holders_of}
                         ) if holders_of is not None else []
        marked = (_holder_rows(random.Random(f"{seed}:{reference}"), rows, holders) if len(holders) >= 2
                  else [(instant, state, "") for instant, state in rows])
        for index, (instant, state, holder) in enumerate(marked):
            if instant > as_of:
                break
            row = {"reference": reference, "at": _format(instant), "state": state,
                   "datasets": "", "requires_matching": "", "title": ""}
            if holders_of is not None:
                row["holder"] = holder
            if index == 0:
                row.update(attributes)
            yield row


def write_csv(path: str | os.PathLike[str], n: int, seed: int = 42, as_of: dt.datetime | None = None,
              start: dt.datetime = FIRST_SUBMISSION) -> int:
    """Write ``n`` requests' history to ``path``; return the number of data rows."""
    as_of = as_of or dt.datetime(2025, 12, 31, tzinfo=dt.UTC)
    rows = 0
    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        for row in generate(n, seed=seed, as_of=as_of, start=start):
            writer.writerow(row)
            rows += 1
    return rows
