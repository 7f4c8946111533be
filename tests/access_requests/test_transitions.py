"""The legal transitions of issue #2, and no others: declared in the workflow and on the model,
and enforced by the services for every (source, target) pair of the twelve states."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.utils import translation
from django_fsm import GET_STATE, can_proceed

from access_requests import services, workflow
from access_requests.exceptions import IllegalTransition, InvalidInput, RequestNotFound
from access_requests.models import AccessRequest, Event
from access_requests.workflow import State

STATES = [str(s) for s in State]
PAUSABLE = ["submitted", "cesrees_review", "cnil_review", "contracting", "matching"]
WITHDRAWABLE = ["draft", "submitted", "awaiting_applicant", "cesrees_review", "cnil_review", "contracting",
                "matching", "extraction"]
ROUTES_WITHOUT_REVIEW = {"reference_methodology", "simplified"}

# Issue #2, typed in by hand (not derived from the code under test): source -> targets.
# Conditions: submitted -> contracting for the MR and simplified routes only; contracting ->
# matching only when matching is required, -> extraction only when it is not; awaiting_applicant ->
# the state it was paused from (that one only) or withdrawn.
ISSUE_TABLE: dict[str, set[str]] = {
    "draft": {"submitted", "withdrawn"},
    "submitted": {"cesrees_review", "awaiting_applicant", "rejected", "withdrawn", "contracting"},
    "cesrees_review": {"cnil_review", "awaiting_applicant", "withdrawn"},
    "cnil_review": {"contracting", "awaiting_applicant", "rejected", "withdrawn"},
    "contracting": {"matching", "extraction", "awaiting_applicant", "withdrawn"},
    "matching": {"extraction", "awaiting_applicant", "withdrawn"},
    "extraction": {"delivered", "withdrawn"},
    "awaiting_applicant": {*PAUSABLE, "withdrawn"},
    "delivered": {"closed"},
    "rejected": set(),
    "withdrawn": set(),
    "closed": set(),
}
ISSUE_EDGES = {(source, target) for source, targets in ISSUE_TABLE.items() for target in targets}


def expected_legal(source: str, target: str, *, route: str, requires_matching: bool, paused_from: str) -> bool:
    if (source, target) not in ISSUE_EDGES:
        return False
    if (source, target) == ("submitted", "contracting"):
        return route in ROUTES_WITHOUT_REVIEW
    if (source, target) == ("contracting", "matching"):
        return requires_matching
    if (source, target) == ("contracting", "extraction"):
        return not requires_matching
    if source == "awaiting_applicant" and target != "withdrawn":
        return target == paused_from
    return True


def label(state: str) -> str:
    with translation.override("fr"):
        return str(State(state).label)


def events_of(request_id: int) -> list[Event]:
    return list(Event.objects.filter(request_id=request_id).order_by("at", "id"))


def db_state(request_id: int) -> str:
    return AccessRequest.objects.get(pk=request_id).state


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


# --- (a) the declared graph is the issue's table --------------------------------------------
def fsm_edges() -> set[tuple[str, str]]:
    field = AccessRequest._meta.get_field("state")
    result = set()
    for transition in field.get_all_transitions(AccessRequest):
        if isinstance(transition.target, GET_STATE):
            targets = transition.target.allowed_states
        else:
            targets = [transition.target]
        result |= {(str(transition.source), str(target)) for target in targets}
    return result


def test_the_issue_table_has_every_state_as_a_source():
    assert set(ISSUE_TABLE) == set(STATES)
    assert len(STATES) == 12


def test_workflow_edges_are_exactly_the_issue_table():
    declared = workflow.edges()
    assert declared - ISSUE_EDGES == set(), "edges in the workflow that the issue does not allow"
    assert ISSUE_EDGES - declared == set(), "edges of the issue missing from the workflow"


def test_django_fsm_transitions_on_the_model_are_exactly_the_issue_table():
    declared = fsm_edges()
    assert declared - ISSUE_EDGES == set(), "django-fsm transitions that the issue does not allow"
    assert ISSUE_EDGES - declared == set(), "edges of the issue missing from the django-fsm declarations"


def test_resume_is_the_only_computed_target_and_may_only_reach_the_pausable_states():
    field = AccessRequest._meta.get_field("state")
    computed = [t for t in field.get_all_transitions(AccessRequest) if isinstance(t.target, GET_STATE)]
    assert {t.name for t in computed} == {"resume"}
    assert [str(t.source) for t in computed] == ["awaiting_applicant"]
    assert sorted(map(str, computed[0].target.allowed_states)) == sorted(PAUSABLE)


def test_model_declares_one_django_fsm_method_per_workflow_transition():
    field = AccessRequest._meta.get_field("state")
    declared = {(t.name, str(t.source)) for t in field.get_all_transitions(AccessRequest)}
    expected = {(name, str(source)) for name, spec in workflow.TRANSITIONS.items() for source in spec.sources}
    assert declared == expected


# What an event row may record (Event.action has EventAction's choices): each transition by its
# name, and these, which move no state or are not transitions. Typed in by hand.
EVENTS_BESIDE_TRANSITIONS = {"create", "import", "assign", "extend_review", "invite_expert", "revoke_expert",
                             "set_due_date"}


def test_every_transition_has_its_event_action_of_the_same_name_and_label():
    for name, spec in workflow.TRANSITIONS.items():
        assert name in workflow.EventAction.values, f"transition {name!r} has no EventAction member"
        member = workflow.EventAction(name)
        assert member.name == name.upper()
        with translation.override("fr"):
            assert str(member.label) == str(spec.label), name
    assert set(workflow.EventAction.values) == set(workflow.TRANSITIONS) | EVENTS_BESIDE_TRANSITIONS


@pytest.mark.parametrize("action", workflow.ACTIONS)
def test_every_action_records_an_event_action(action):
    """An action records the transition it fires (record_contract_signed: start_matching or
    start_extraction; record_matching_done: start_extraction; record_cnil_decision: authorise,
    or reject for a refusal), or itself when it fires none (extend_review)."""
    recorded = set()
    for state in STATES:
        for requires_matching in (True, False):
            facts = workflow.Facts(state=state, requires_matching=requires_matching)
            recorded.add(workflow.action_transition(action, facts) or action)
    if action == "record_cnil_decision":
        recorded.add("reject")  # services.record_cnil_decision(authorised=False) fires reject
    assert recorded
    missing = recorded - set(workflow.EventAction.values)
    assert not missing, f"{action!r} records events with no EventAction member: {missing}"
    assert recorded <= set(workflow.TRANSITIONS) | {"extend_review"}


@pytest.mark.parametrize("route", ["standard", "reference_methodology", "simplified"])
@pytest.mark.parametrize("requires_matching", [True, False])
@pytest.mark.parametrize("paused_from", ["", *PAUSABLE])
def test_workflow_edge_allowed_applies_the_issue_conditions(route, requires_matching, paused_from):
    mismatches = [
        (source, target)
        for source in STATES
        for target in STATES
        if workflow.edge_allowed(source, target, requires_matching=requires_matching, route=route,
                                 paused_from=paused_from)
        != expected_legal(source, target, route=route, requires_matching=requires_matching,
                          paused_from=paused_from)
    ]
    assert mismatches == []


# --- (b) every pair of states through the services -----------------------------------------
@dataclass(frozen=True)
class Scenario:
    """A request in ``state`` with the attributes that the conditions read."""

    state: str
    route: str = "standard"
    requires_matching: bool = True
    paused_from: str = ""

    @property
    def id(self) -> str:
        parts = [self.state]
        if self.route != "standard":
            parts.append(self.route)
        if not self.requires_matching:
            parts.append("no_matching")
        if self.paused_from:
            parts.append(f"from_{self.paused_from}")
        return "+".join(parts)


SCENARIOS = [
    Scenario("draft"),
    Scenario("submitted"),
    # Routes without review, with datasets that fit them (services.route_ineligibility).
    Scenario("submitted", route="reference_methodology", requires_matching=False),
    Scenario("submitted", route="simplified", requires_matching=False),
    *[Scenario("awaiting_applicant", paused_from=state) for state in PAUSABLE],
    Scenario("cesrees_review"),
    Scenario("cnil_review"),
    Scenario("contracting"),
    Scenario("contracting", requires_matching=False),
    Scenario("matching"),
    Scenario("extraction"),
    Scenario("delivered"),
    Scenario("rejected"),
    Scenario("withdrawn"),
    Scenario("closed"),
]


def build(make_request, scenario: Scenario) -> AccessRequest:
    codes = ("snds", "oscour") if scenario.requires_matching else ("esnd",) if scenario.route == "simplified" else ("snds",)
    request = make_request(scenario.state, codes=codes, route=scenario.route,
                           paused_from=scenario.paused_from or "submitted")
    request = AccessRequest.objects.get(pk=request.pk)
    assert (request.state, request.route, request.requires_matching, request.paused_from) == (
        scenario.state, scenario.route, scenario.requires_matching, scenario.paused_from)
    return request


STAGE_OWNER = {"submitted": "secretariat", "cesrees_review": "cesrees", "cnil_review": "cnil",
               "contracting": "cnam", "matching": "cnam"}
ROLE_OF_PERSONA = {"applicant": "applicant", "secretariat": "secretariat", "cesrees": "cesrees", "cnil": "cnil",
                   "cnam": "data_holder", "platform": "platform", "superuser": None}
CNIL_DECISION = {"decision_number": "DR-2025-042", "decision_date": dt.date(2025, 4, 2)}


@dataclass(frozen=True)
class Requester:
    """A service that asks for a move to a target state."""

    name: str
    sources: tuple[str, ...]  # where the issue lets it apply
    persona: Callable[[str], str]  # source -> persona that would act
    call: Callable  # (request_id, actor) -> AccessRequest
    target: Callable[[Scenario], str]  # the state it asks for, given the request

    def __repr__(self) -> str:
        return self.name


def _fixed(state):
    return lambda scenario: state


def _who(persona):
    return lambda source: persona


def _owner(source):
    return STAGE_OWNER.get(source, "superuser")


REQUESTERS = [
    Requester("submit", ("draft",), _who("applicant"),
              lambda rid, u: services.submit(request_id=rid, actor=u), _fixed("submitted")),
    Requester("withdraw", tuple(WITHDRAWABLE), _who("applicant"),
              lambda rid, u: services.withdraw(request_id=rid, actor=u, reason="Projet abandonné"),
              _fixed("withdrawn")),
    Requester("request_information", tuple(PAUSABLE), _owner,
              lambda rid, u: services.request_information(request_id=rid, actor=u, question="Précisez la finalité ?"),
              _fixed("awaiting_applicant")),
    Requester("answer_information", ("awaiting_applicant",), _who("applicant"),
              lambda rid, u: services.answer_information(request_id=rid, actor=u, answer="Voici la précision."),
              lambda scenario: scenario.paused_from),
    Requester("forward_to_cesrees", ("submitted",), _who("secretariat"),
              lambda rid, u: services.forward_to_cesrees(request_id=rid, actor=u), _fixed("cesrees_review")),
    Requester("approve_without_review", ("submitted",), _who("secretariat"),
              lambda rid, u: services.approve_without_review(request_id=rid, actor=u), _fixed("contracting")),
    Requester("reject", ("submitted",), _owner,
              lambda rid, u: services.reject(request_id=rid, actor=u, reason="Finalité d'intérêt public non établie"),
              _fixed("rejected")),
    Requester("record_cesrees_opinion", ("cesrees_review",), _who("cesrees"),
              lambda rid, u: services.record_cesrees_opinion(request_id=rid, actor=u, opinion="favourable"),
              _fixed("cnil_review")),
    Requester("record_cnil_decision(authorised=True)", ("cnil_review",), _who("cnil"),
              lambda rid, u: services.record_cnil_decision(request_id=rid, actor=u, authorised=True, **CNIL_DECISION),
              _fixed("contracting")),
    Requester("record_cnil_decision(authorised=False)", ("cnil_review",), _who("cnil"),
              lambda rid, u: services.record_cnil_decision(request_id=rid, actor=u, authorised=False,
                                                           **CNIL_DECISION),
              _fixed("rejected")),
    Requester("record_contract_signed", ("contracting",), _who("cnam"),
              lambda rid, u: services.record_contract_signed(request_id=rid, actor=u),
              lambda scenario: "matching" if scenario.requires_matching else "extraction"),
    Requester("record_matching_done", ("matching",), _who("cnam"),
              lambda rid, u: services.record_matching_done(request_id=rid, actor=u), _fixed("extraction")),
    Requester("deliver", ("extraction",), _who("cnam"),
              lambda rid, u: services.deliver(request_id=rid, actor=u), _fixed("delivered")),
    Requester("close", ("delivered",), _who("platform"),
              lambda rid, u: services.close(request_id=rid, actor=u), _fixed("closed")),
]


def _legal(scenario: Scenario, target: str) -> bool:
    return expected_legal(scenario.state, target, route=scenario.route,
                          requires_matching=scenario.requires_matching, paused_from=scenario.paused_from)


LEGAL_CASES = []  # (scenario, requester) for every legal pair and every service that takes it
ILLEGAL_CASES = []  # (scenario, target, [requesters]) for every illegal pair some service asks for
BACK_TO_DRAFT = []  # (scenario,) no service ever asks for draft
UNASKED = []  # (scenario, target): illegal pairs that no service can even ask for on this request
for _scenario in SCENARIOS:
    for _target in STATES:
        _asking = [r for r in REQUESTERS if r.target(_scenario) == _target]
        if _target == "draft":
            assert not _asking
            BACK_TO_DRAFT.append(_scenario)
        elif _legal(_scenario, _target):
            LEGAL_CASES += [(_scenario, r) for r in _asking if _scenario.state in r.sources]
        elif _asking:
            ILLEGAL_CASES.append((_scenario, _target, _asking))
        else:
            UNASKED.append((_scenario, _target))


def test_the_scenarios_cover_every_pair_of_the_twelve_states():
    covered = (
        {(s.state, r.target(s)) for s, r in LEGAL_CASES}
        | {(s.state, t) for s, t, _ in ILLEGAL_CASES}
        | {(s.state, "draft") for s in BACK_TO_DRAFT}
        | {(s.state, t) for s, t in UNASKED}
    )
    assert covered == {(source, target) for source in STATES for target in STATES}
    # Each legal edge of the issue is taken by at least one service in some scenario.
    assert {(s.state, r.target(s)) for s, r in LEGAL_CASES} == ISSUE_EDGES
    # The only pairs no service can ask for: -> matching on a request that needs none (signing the
    # contract then goes to extraction; see the dedicated test below).
    assert {t for _, t in UNASKED} == {"matching"}
    assert all(not s.requires_matching for s, _ in UNASKED)
    assert ("contracting+no_matching", "matching") in [(s.id, t) for s, t in UNASKED]


@pytest.mark.parametrize(("scenario", "requester"), LEGAL_CASES,
                         ids=[f"{s.id}->{r.target(s)}-by-{r.name}" for s, r in LEGAL_CASES])
def test_legal_move_changes_state_and_writes_exactly_one_event(make_request, personas, scenario, requester):
    request = build(make_request, scenario)
    target = requester.target(scenario)
    persona = requester.persona(scenario.state)
    actor = personas[persona]
    before = {e.pk for e in events_of(request.pk)}

    returned = requester.call(request.pk, actor)

    new = [e for e in events_of(request.pk) if e.pk not in before]
    assert len(new) == 1
    event = new[0]
    assert (event.from_state, event.to_state, event.actor_id) == (scenario.state, target, actor.pk)
    assert event.role == ROLE_OF_PERSONA[persona]
    assert returned.state == target
    reloaded = AccessRequest.objects.get(pk=request.pk)
    assert reloaded.state == target
    assert reloaded.paused_from == (scenario.state if target == "awaiting_applicant" else "")


@pytest.mark.parametrize(("scenario", "target", "requesters"), ILLEGAL_CASES,
                         ids=[f"{s.id}->{t}" for s, t, _ in ILLEGAL_CASES])
def test_illegal_move_is_refused_naming_both_states_and_writes_no_event(
        make_request, personas, scenario, target, requesters):
    request = build(make_request, scenario)
    before = events_of(request.pk)
    for requester in requesters:
        actor = personas[requester.persona(scenario.state)]
        with translation.override("fr"), pytest.raises(IllegalTransition) as excinfo:
            requester.call(request.pk, actor)
        message = str(excinfo.value)
        assert f"« {label(scenario.state)} »" in message, (requester.name, message)
        assert f"« {label(target)} »" in message, (requester.name, message)
        assert request.reference in message
        assert events_of(request.pk) == before, requester.name
        reloaded = AccessRequest.objects.get(pk=request.pk)
        assert (reloaded.state, reloaded.paused_from) == (scenario.state, scenario.paused_from), requester.name


def test_no_transition_of_the_workflow_or_the_model_leads_back_to_draft():
    assert all(spec.target != "draft" for spec in workflow.TRANSITIONS.values())
    assert all(target != "draft" for _source, target in fsm_edges())


@pytest.mark.parametrize("scenario", BACK_TO_DRAFT, ids=[s.id for s in BACK_TO_DRAFT])
def test_editing_as_a_draft_never_moves_a_request_back_to_draft(make_request, personas, scenario):
    request = build(make_request, scenario)
    before = events_of(request.pk)
    if scenario.state == "draft":
        # Editing a draft is not a transition: no event, still a draft.
        services.update_draft(request_id=request.pk, actor=personas["applicant"], title="Nouveau titre")
    else:
        with translation.override("fr"), pytest.raises(IllegalTransition) as excinfo:
            services.update_draft(request_id=request.pk, actor=personas["applicant"], title="Nouveau titre")
        assert f"« {label(scenario.state)} »" in str(excinfo.value)
        assert f"« {label('draft')} »" in str(excinfo.value)
    assert events_of(request.pk) == before
    assert db_state(request.pk) == scenario.state


def test_contract_signature_without_matching_goes_to_extraction_never_to_matching(make_request, personas):
    request = build(make_request, Scenario("contracting", requires_matching=False))
    assert not can_proceed(request.start_matching)
    assert can_proceed(request.start_extraction)

    services.record_contract_signed(request_id=request.pk, actor=personas["cnam"])

    assert db_state(request.pk) == "extraction"
    assert [(e.from_state, e.to_state) for e in events_of(request.pk)][-1] == ("contracting", "extraction")
    assert not Event.objects.filter(request=request, to_state="matching").exists()


def test_contract_signature_with_matching_goes_to_matching_never_straight_to_extraction(make_request, personas):
    request = build(make_request, Scenario("contracting"))
    assert can_proceed(request.start_matching)
    assert not can_proceed(request.start_extraction)

    services.record_contract_signed(request_id=request.pk, actor=personas["cnam"])

    assert db_state(request.pk) == "matching"
    with translation.override("fr"), pytest.raises(IllegalTransition) as excinfo:
        services.record_contract_signed(request_id=request.pk, actor=personas["cnam"])
    assert "« Appariement »" in str(excinfo.value)


@pytest.mark.parametrize(("route", "codes"), [("reference_methodology", ("snds",)), ("simplified", ("esnd",))])
def test_routes_without_review_go_from_submitted_straight_to_contracting(make_request, personas, route, codes):
    request = make_request("submitted", route=route, codes=codes)
    services.approve_without_review(request_id=request.pk, actor=personas["secretariat"])
    assert db_state(request.pk) == "contracting"
    assert not Event.objects.filter(request=request, to_state__in=["cesrees_review", "cnil_review"]).exists()


def test_standard_route_cannot_skip_the_reviews_and_says_why(make_request, personas):
    request = make_request("submitted")
    with translation.override("fr"), pytest.raises(IllegalTransition) as excinfo:
        services.approve_without_review(request_id=request.pk, actor=personas["secretariat"])
    assert "MR" in str(excinfo.value)  # the reason names the routes that may skip the reviews
    assert db_state(request.pk) == "submitted"


# --- requires_matching is derived ----------------------------------------------------------
@pytest.mark.parametrize(("dataset_count", "brings_own_data", "expected"), [
    (0, False, False),
    (1, False, False),
    (2, False, True),
    (3, False, True),
    (0, True, True),
    (1, True, True),
    (2, True, True),
])
def test_matching_is_required_for_two_datasets_or_own_data(dataset_count, brings_own_data, expected):
    assert services.derive_requires_matching(dataset_count=dataset_count, brings_own_data=brings_own_data) is expected


@pytest.mark.parametrize(("codes", "brings_own_data", "expected"), [
    (("snds",), False, False),
    (("snds", "snds"), False, False),  # the same dataset twice is one dataset
    (("snds", "esnd"), False, True),  # two datasets of the same holder still need matching
    (("snds", "oscour"), False, True),
    (("realigist",), True, True),
])
def test_new_draft_derives_requires_matching_from_its_datasets(personas, codes, brings_own_data, expected):
    from catalog.models import Dataset

    chosen = [Dataset.objects.get(code=code) for code in codes]
    request = services.create_draft(actor=personas["applicant"], title="Étude", datasets=chosen,
                                    brings_own_data=brings_own_data)
    assert AccessRequest.objects.get(pk=request.pk).requires_matching is expected


def test_editing_a_draft_recomputes_requires_matching(make_request, personas):
    from catalog.models import Dataset

    request = make_request("draft", codes=("snds",))
    assert request.requires_matching is False
    services.update_draft(request_id=request.pk, actor=personas["applicant"],
                          datasets=Dataset.objects.filter(code__in=["snds", "oscour"]))
    assert AccessRequest.objects.get(pk=request.pk).requires_matching is True
    services.update_draft(request_id=request.pk, actor=personas["applicant"],
                          datasets=Dataset.objects.filter(code="snds"))
    assert AccessRequest.objects.get(pk=request.pk).requires_matching is False
    services.update_draft(request_id=request.pk, actor=personas["applicant"], brings_own_data=True)
    assert AccessRequest.objects.get(pk=request.pk).requires_matching is True


# --- resume goes back only to the stage that paused ----------------------------------------
@pytest.mark.parametrize("paused_from", PAUSABLE)
def test_answering_resumes_exactly_the_stage_that_asked(make_request, personas, paused_from):
    request = make_request(paused_from)
    owner = personas[STAGE_OWNER[paused_from]]
    services.request_information(request_id=request.pk, actor=owner, question="Précisez ?")
    paused = AccessRequest.objects.get(pk=request.pk)
    assert (paused.state, paused.paused_from) == ("awaiting_applicant", paused_from)

    services.answer_information(request_id=request.pk, actor=personas["applicant"], answer="Voici.")

    resumed = AccessRequest.objects.get(pk=request.pk)
    assert (resumed.state, resumed.paused_from) == (paused_from, "")
    assert [(e.from_state, e.to_state) for e in events_of(request.pk)][-2:] == [
        (paused_from, "awaiting_applicant"), ("awaiting_applicant", paused_from)]


def test_two_pauses_in_different_stages_each_resume_their_own_stage(make_request, personas):
    request = make_request("awaiting_applicant", paused_from="submitted")
    services.answer_information(request_id=request.pk, actor=personas["applicant"], answer="Voici.")
    services.forward_to_cesrees(request_id=request.pk, actor=personas["secretariat"])
    services.request_information(request_id=request.pk, actor=personas["cesrees"], question="Et la durée ?")
    services.answer_information(request_id=request.pk, actor=personas["colleague"], answer="Trois ans.")
    assert db_state(request.pk) == "cesrees_review"


def test_withdrawing_a_paused_request_forgets_the_paused_stage(make_request, personas):
    request = make_request("awaiting_applicant", paused_from="cnil_review")
    services.withdraw(request_id=request.pk, actor=personas["applicant"], reason="Abandon")
    reloaded = AccessRequest.objects.get(pk=request.pk)
    assert (reloaded.state, reloaded.paused_from) == ("withdrawn", "")


def test_answering_outside_a_pause_is_an_illegal_transition(make_request, personas):
    request = make_request("cesrees_review")
    with translation.override("fr"), pytest.raises(IllegalTransition) as excinfo:
        services.answer_information(request_id=request.pk, actor=personas["applicant"], answer="Voici.")
    assert f"« {label('cesrees_review')} »" in str(excinfo.value)
    assert db_state(request.pk) == "cesrees_review"


# --- (c) domain validation ------------------------------------------------------------------
def _assert_invalid(request, call):
    before = events_of(request.pk)
    state = db_state(request.pk)
    with pytest.raises(InvalidInput):
        call()
    assert events_of(request.pk) == before
    assert db_state(request.pk) == state


@pytest.mark.parametrize("question", ["", "   \n\t"])
def test_request_for_information_without_a_question_is_invalid(make_request, personas, question):
    request = make_request("submitted")
    _assert_invalid(request, lambda: services.request_information(
        request_id=request.pk, actor=personas["secretariat"], question=question))


def test_answer_without_text_is_invalid(make_request, personas):
    request = make_request("awaiting_applicant")
    _assert_invalid(request, lambda: services.answer_information(
        request_id=request.pk, actor=personas["applicant"], answer="  "))


def test_rejection_without_a_reason_is_invalid(make_request, personas):
    request = make_request("submitted")
    _assert_invalid(request, lambda: services.reject(request_id=request.pk, actor=personas["secretariat"], reason=""))


@pytest.mark.parametrize("opinion", ["", "maybe", "FAVOURABLE"])
def test_unknown_cesrees_opinion_is_invalid(make_request, personas, opinion):
    request = make_request("cesrees_review")
    _assert_invalid(request, lambda: services.record_cesrees_opinion(
        request_id=request.pk, actor=personas["cesrees"], opinion=opinion))


@pytest.mark.parametrize("authorised", [True, False])
@pytest.mark.parametrize(("decision_number", "decision_date"), [
    ("", dt.date(2025, 4, 2)),
    ("   ", dt.date(2025, 4, 2)),
    ("DR-2025-042", None),
    ("DR-2025-042", "2025-04-02"),
], ids=["no-number", "blank-number", "no-date", "date-as-text"])
def test_cnil_decision_without_number_or_date_is_invalid(make_request, personas, authorised, decision_number,
                                                          decision_date):
    request = make_request("cnil_review")
    _assert_invalid(request, lambda: services.record_cnil_decision(
        request_id=request.pk, actor=personas["cnil"], authorised=authorised,
        decision_number=decision_number, decision_date=decision_date))


def test_submitting_without_any_dataset_is_invalid(make_request, personas):
    request = make_request("draft", codes=())
    assert not request.datasets.exists()
    _assert_invalid(request, lambda: services.submit(request_id=request.pk, actor=personas["applicant"]))


@pytest.mark.parametrize(("stage", "persona", "flag"), [
    ("cesrees_review", "cesrees", "cesrees_extended"),
    ("cnil_review", "cnil", "cnil_extended"),
])
def test_review_period_is_extended_once_and_a_second_extension_is_refused(make_request, personas, stage, persona,
                                                                          flag):
    request = make_request(stage)
    services.extend_review(request_id=request.pk, actor=personas[persona], comment="Dossier complexe")
    reloaded = AccessRequest.objects.get(pk=request.pk)
    assert getattr(reloaded, flag) is True
    assert reloaded.state == stage
    last = events_of(request.pk)[-1]
    assert (last.action, last.from_state, last.to_state, last.role) == ("extend_review", stage, stage, persona)

    _assert_invalid(request, lambda: services.extend_review(request_id=request.pk, actor=personas[persona]))


def test_cesrees_extension_does_not_use_up_the_cnil_extension(make_request, personas):
    request = make_request("cesrees_review")
    services.extend_review(request_id=request.pk, actor=personas["cesrees"])
    services.record_cesrees_opinion(request_id=request.pk, actor=personas["cesrees"], opinion="favourable")
    services.extend_review(request_id=request.pk, actor=personas["cnil"])
    reloaded = AccessRequest.objects.get(pk=request.pk)
    assert (reloaded.cesrees_extended, reloaded.cnil_extended) == (True, True)


@pytest.mark.parametrize("state", [s for s in STATES if s not in ("cesrees_review", "cnil_review")])
def test_review_period_cannot_be_extended_outside_the_cesrees_and_cnil_stages(make_request, personas, state):
    request = make_request(state)
    before = events_of(request.pk)
    with pytest.raises(IllegalTransition):
        services.extend_review(request_id=request.pk, actor=personas["superuser"])
    assert events_of(request.pk) == before
    reloaded = AccessRequest.objects.get(pk=request.pk)
    assert (reloaded.state, reloaded.cesrees_extended, reloaded.cnil_extended) == (state, False, False)


SERVICE_CALLS = {
    "submit": lambda rid, u: services.submit(request_id=rid, actor=u),
    "withdraw": lambda rid, u: services.withdraw(request_id=rid, actor=u),
    "request_information": lambda rid, u: services.request_information(request_id=rid, actor=u, question="?"),
    "answer_information": lambda rid, u: services.answer_information(request_id=rid, actor=u, answer="!"),
    "forward_to_cesrees": lambda rid, u: services.forward_to_cesrees(request_id=rid, actor=u),
    "approve_without_review": lambda rid, u: services.approve_without_review(request_id=rid, actor=u),
    "reject": lambda rid, u: services.reject(request_id=rid, actor=u, reason="Non"),
    "record_cesrees_opinion": lambda rid, u: services.record_cesrees_opinion(
        request_id=rid, actor=u, opinion="favourable"),
    "record_cnil_decision": lambda rid, u: services.record_cnil_decision(
        request_id=rid, actor=u, authorised=True, **CNIL_DECISION),
    "record_contract_signed": lambda rid, u: services.record_contract_signed(request_id=rid, actor=u),
    "record_matching_done": lambda rid, u: services.record_matching_done(request_id=rid, actor=u),
    "deliver": lambda rid, u: services.deliver(request_id=rid, actor=u),
    "close": lambda rid, u: services.close(request_id=rid, actor=u),
    "extend_review": lambda rid, u: services.extend_review(request_id=rid, actor=u),
    "update_draft": lambda rid, u: services.update_draft(request_id=rid, actor=u, title="Titre"),
}


@pytest.mark.parametrize("request_id", [987654321, "not-a-number", None], ids=["unknown", "text", "none"])
@pytest.mark.parametrize("service", list(SERVICE_CALLS))
def test_unknown_request_id_raises_request_not_found(personas, service, request_id):
    count = Event.objects.count()
    with pytest.raises(RequestNotFound):
        SERVICE_CALLS[service](request_id, personas["superuser"])
    assert Event.objects.count() == count


@pytest.mark.parametrize("persona", ["secretariat", "superuser"])
def test_cnil_refusal_can_only_be_recorded_during_the_cnil_review(make_request, personas, persona):
    request = make_request("submitted")
    before = events_of(request.pk)
    with pytest.raises(IllegalTransition):
        services.record_cnil_decision(request_id=request.pk, actor=personas[persona], authorised=False,
                                      **CNIL_DECISION)
    assert events_of(request.pk) == before
    assert db_state(request.pk) == "submitted"


def test_acting_on_a_state_the_caller_did_not_see_is_refused_and_writes_nothing(make_request, personas):
    from access_requests.exceptions import ConcurrentUpdate

    request = make_request(State.CESREES_REVIEW)
    before = events_of(request.pk)
    with pytest.raises(ConcurrentUpdate, match="Déposée"):
        services.request_information(request_id=request.pk, actor=personas["superuser"], question="?",
                                     expected_state=State.SUBMITTED)
    assert events_of(request.pk) == before


@pytest.mark.parametrize(("route", "codes", "own_data"), [
    ("simplified", ("snds",), False),  # simplified access is for the SNDS sample only
    ("simplified", ("esnd",), True),  # ... without other data to link
    ("reference_methodology", ("snds", "oscour"), False),  # MR cannot link sources
])
def test_a_route_without_review_is_refused_when_the_datasets_do_not_fit_it(make_request, personas, route, codes,
                                                                          own_data):
    request = make_request("submitted", route=route, codes=codes, brings_own_data=own_data)
    before = events_of(request.pk)
    with translation.override("fr"), pytest.raises(IllegalTransition, match="CESREES"):
        services.approve_without_review(request_id=request.pk, actor=personas["secretariat"])
    assert events_of(request.pk) == before
    services.forward_to_cesrees(request_id=request.pk, actor=personas["secretariat"])
    assert db_state(request.pk) == "cesrees_review"


def test_a_cnil_refusal_is_recorded_with_its_decision_not_as_a_plain_rejection(make_request, personas):
    request = make_request("cnil_review")
    before = events_of(request.pk)
    with translation.override("fr"), pytest.raises(IllegalTransition, match="décision"):
        services.reject(request_id=request.pk, actor=personas["cnil"], reason="Non")
    assert events_of(request.pk) == before
    services.record_cnil_decision(request_id=request.pk, actor=personas["cnil"], authorised=False, **CNIL_DECISION)
    assert db_state(request.pk) == "rejected"
    assert events_of(request.pk)[-1].payload["decision_number"] == CNIL_DECISION["decision_number"]
