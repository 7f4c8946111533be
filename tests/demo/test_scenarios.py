"""The demo's history looks the same whenever it is seeded: weekends, holidays, just after midnight,
the night clocks change. No database: the import's own validation and the statutory clocks read
the rows as plain data."""

import datetime as dt

import pytest
import time_machine

from access_requests.history_import import read_history
from access_requests.selectors.clock import ClockLog, visit_statutes
from access_requests.workflow import Role, State
from demo.history import demo_calibration, demo_start, generate
from demo.scenarios import EXTRA_COLUMNS, demo_history, scenarios, write_demo_csv
from hdh_access.lib.dates import PARIS, add_working_days, paris_date

# The catalogue's dataset codes (catalog migrations 0002 and 0004).
CATALOGUE = ("snds", "esnd", "oscour", "deepsarc", "apriorics", "precision_predict", "isis", "realigist", "uroccr",
             "pmsi")
# Seeding instants: a Monday morning, a Saturday, Christmas Eve before the holidays, just after
# midnight, the night of the spring clock change, a 31st (months that have no 31st).
NOWS = [
    dt.datetime(2026, 12, 7, 9, 30, tzinfo=PARIS),
    dt.datetime(2027, 3, 13, 15, 0, tzinfo=PARIS),
    dt.datetime(2026, 12, 24, 18, 0, tzinfo=PARIS),
    dt.datetime(2027, 1, 5, 0, 10, tzinfo=PARIS),
    dt.datetime(2027, 3, 28, 3, 30, tzinfo=PARIS),
    dt.datetime(2027, 5, 31, 11, 0, tzinfo=PARIS),
]


def current_visit(scenario, now):
    """The open visit of a scenario's dossier at ``now``, as the import and the clocks read it."""
    log = ClockLog()
    previous = ""
    for step in scenario.steps:
        extra = {key: value for key, value in (("reason", step.reason), ("urgent", step.urgent)) if value}
        action = "extend_review" if step.state == previous else "transition"
        log.add(from_state=previous, to_state=step.state, action=action, at=step.at, payload=extra)
        previous = step.state
    opinion = next((step.opinion for step in scenario.steps if step.opinion), "")
    visits = visit_statutes(log.transitions, log.facts(route=scenario.route, cesrees_opinion=opinion), at=now)
    return visits[-1]


@pytest.mark.parametrize("now", NOWS, ids=lambda now: now.strftime("%Y-%m-%d %H:%M"))
def test_the_demo_history_passes_the_imports_validation_and_keeps_its_promises(now, tmp_path):
    history = demo_history(now, requests=120, seed=2022)
    path = tmp_path / "demo.csv"
    write_demo_csv(path, history)
    with time_machine.travel(now, tick=False):  # the import refuses rows after its "now"
        histories = read_history(path, dataset_codes=CATALOGUE)  # raises on any refused row
    assert len(histories) == 120 + len(history.scenarios)
    assert all(at <= now for history in histories for _line, at, _state, _extra in history.rows)

    today = paris_date(now)
    due_soon_limit = add_working_days(today, 5)
    for _reference, scenario in history.scenarios.values():
        if scenario.steps[-1].state == State.DELIVERED:
            assert scenario.queue == Role.PLATFORM and paris_date(scenario.steps[-1].at) < today
            continue
        visit = current_visit(scenario, now)
        assert visit.left_at is None and visit.stage == scenario.steps[-1].state, scenario.key
        if "just_filed" in scenario.tags:
            assert visit.stage == State.SUBMITTED and (today - paris_date(visit.entered_at)).days <= 3
        if "due_soon" in scenario.tags:
            limit = add_working_days(today, 2) if scenario.queue == Role.SECRETARIAT else due_soon_limit
            assert today <= visit.due_date <= limit, (scenario.key, visit.due_date)
        if "overdue" in scenario.tags:
            assert visit.due_date < today, scenario.key
        if "extended" in scenario.tags:
            assert visit.extended and visit.due_date >= today, scenario.key
        if "urgent" in scenario.tags:
            assert visit.urgent, scenario.key
        if "paused" in scenario.tags and scenario.queue == Role.CNIL:
            assert visit.stage == State.AWAITING_APPLICANT and visit.reason


def test_every_queue_has_its_cases_among_the_scenarios():
    tags = {}
    for scenario in scenarios(NOWS[0]):
        tags.setdefault(scenario.queue, set()).update(scenario.tags)
    assert {"just_filed", "due_soon", "overdue", "paused"} <= tags[Role.SECRETARIAT]
    assert {"urgent", "due_soon", "overdue", "extended"} <= tags[Role.CESREES]
    assert {"due_soon", "overdue", "extended"} <= tags[Role.CNIL]
    assert {"cnam", "atih", "hospital", "long_running", "late", "at_risk", "on_track",
            "three_holders"} <= tags[Role.DATA_HOLDER]
    assert Role.PLATFORM in tags


def test_the_demo_history_is_the_same_a_week_later_only_shifted():
    now = NOWS[0]
    later = now + dt.timedelta(days=7)

    def rows(at):
        return list(generate(80, seed=2022, as_of=at, start=demo_start(at), end=at, calibration=demo_calibration(at)))

    first, second = rows(now), rows(later)
    assert len(first) == len(second)
    for a, b in zip(first, second, strict=True):
        shift = dt.datetime.fromisoformat(b["at"]) - dt.datetime.fromisoformat(a["at"])
        assert (a["state"], a["datasets"], shift) == (b["state"], b["datasets"], dt.timedelta(days=7))


def test_the_demo_file_has_the_imports_optional_columns():
    history = demo_history(NOWS[0], requests=5, seed=1)
    assert set(EXTRA_COLUMNS) <= set(history.columns)
    urgent = [row for row in history.rows if row["urgent"] == "true"]
    assert urgent and all(row["state"] == State.CESREES_REVIEW for row in urgent)
