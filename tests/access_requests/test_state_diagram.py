from pathlib import Path

from django.conf import settings
from django.utils import translation

from access_requests.diagram import declared_edges, declared_task_edges, render_markdown
from access_requests.workflow import TASK_TRANSITIONS, edges


def test_docs_state_diagram_is_the_one_generated_from_the_code():
    with translation.override("fr"):
        generated = render_markdown()
    on_disk = (Path(settings.BASE_DIR) / "docs" / "state-diagram.md").read_text(encoding="utf-8")
    assert on_disk == generated, "docs/state-diagram.md is stale: run `make diagram`"


def test_fsm_declared_edges_equal_the_workflow_table():
    assert {(s, t) for s, t, _ in declared_edges()} == edges()


def test_fsm_declared_task_edges_equal_the_task_transitions_and_mirror_the_requests():
    declared = {(s, t, name) for s, t, name in declared_task_edges()}
    assert declared == {(str(source), str(spec.target), name) for name, spec in TASK_TRANSITIONS.items()
                        for source in spec.sources}
    assert {(s, t) for s, t, _ in declared} <= edges()  # each task edge is an edge of the request


def test_the_pure_delay_rules_use_the_workflow_s_state_codes():
    """delays.py names the states without importing Django: its codes must be the workflow's."""
    from access_requests.workflow import PAUSABLE_STATES, State
    from delays import rules

    assert set(rules.STATES) == set(State.values)
    assert set(rules.STANDARD_PATH) - {rules.MATCHING, rules.EXTRACTION} <= set(PAUSABLE_STATES)
    assert set(rules.STAGES) == set(PAUSABLE_STATES) | {State.EXTRACTION, State.AWAITING_APPLICANT}
