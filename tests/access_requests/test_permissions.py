"""Who may do what: every persona against every action, from the state where the action is legal."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from django.contrib.auth.models import AnonymousUser
from django_fsm import has_transition_perm

from access_requests import services
from access_requests.exceptions import ActionNotPermitted, IllegalTransition
from access_requests.models import AccessRequest, Event

PERSONAS = ["applicant", "colleague", "outsider", "secretariat", "cesrees", "cnil", "cnam", "curie", "platform",
            "management", "superuser", "anonymous"]
# The role a persona acts in when it is allowed (the superuser's depends on the action).
ROLE_OF_PERSONA = {"applicant": "applicant", "colleague": "applicant", "secretariat": "secretariat",
                   "cesrees": "cesrees", "cnil": "cnil", "cnam": "data_holder", "curie": "data_holder",
                   "platform": "platform"}
CNIL_DECISION = {"decision_number": "DR-2025-042", "decision_date": dt.date(2025, 4, 2)}


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def everyone(personas):
    return {**personas, "anonymous": AnonymousUser()}


@dataclass(frozen=True)
class Action:
    id: str
    state: str  # where the action is legal
    call: Callable  # (request_id, actor) -> AccessRequest
    allowed: frozenset[str]  # personas allowed besides the superuser (issue #2)
    roles: frozenset[str]  # roles the event may record
    fsm: str | None  # the django-fsm method behind it (None: not a state change)
    make: dict = field(default_factory=dict)  # make_request keyword arguments

    def __repr__(self) -> str:
        return self.id


def _a(id_, state, call, allowed, roles, fsm, **make):
    return Action(id_, state, call, frozenset(allowed), frozenset(roles), fsm, make)


APPLICANTS = {"applicant", "colleague"}
ACTIONS = [
    _a("submit", "draft", lambda rid, u: services.submit(request_id=rid, actor=u),
       APPLICANTS, {"applicant"}, "submit"),
    _a("answer_information", "awaiting_applicant",
       lambda rid, u: services.answer_information(request_id=rid, actor=u, answer="Voici."),
       APPLICANTS, {"applicant"}, "resume"),
    _a("withdraw@draft", "draft", lambda rid, u: services.withdraw(request_id=rid, actor=u, reason="Abandon"),
       {*APPLICANTS, "secretariat"}, {"applicant", "secretariat"}, "withdraw"),
    _a("withdraw@cnil_review", "cnil_review",
       lambda rid, u: services.withdraw(request_id=rid, actor=u, reason="Abandon"),
       {*APPLICANTS, "secretariat"}, {"applicant", "secretariat"}, "withdraw"),
    *[
        _a(f"request_information@{state}", state,
           lambda rid, u: services.request_information(request_id=rid, actor=u, question="Précisez ?"),
           allowed, roles, "request_information")
        for state, allowed, roles in [
            ("submitted", {"secretariat"}, {"secretariat"}),
            ("cesrees_review", {"cesrees"}, {"cesrees"}),
            ("cnil_review", {"cnil"}, {"cnil"}),
            ("contracting", {"cnam", "secretariat"}, {"data_holder", "secretariat"}),
            ("matching", {"cnam"}, {"data_holder"}),
        ]
    ],
    _a("reject@submitted", "submitted", lambda rid, u: services.reject(request_id=rid, actor=u, reason="Hors champ"),
       {"secretariat"}, {"secretariat"}, "reject"),
    _a("forward_to_cesrees", "submitted", lambda rid, u: services.forward_to_cesrees(request_id=rid, actor=u),
       {"secretariat"}, {"secretariat"}, "forward_to_cesrees"),
    _a("approve_without_review", "submitted",
       lambda rid, u: services.approve_without_review(request_id=rid, actor=u),
       {"secretariat"}, {"secretariat"}, "approve_without_review", route="reference_methodology", codes=("snds",)),
    _a("record_cesrees_opinion", "cesrees_review",
       lambda rid, u: services.record_cesrees_opinion(request_id=rid, actor=u, opinion="favourable"),
       {"cesrees"}, {"cesrees"}, "record_cesrees_opinion"),
    _a("record_cnil_decision(authorised)", "cnil_review",
       lambda rid, u: services.record_cnil_decision(request_id=rid, actor=u, authorised=True, **CNIL_DECISION),
       {"cnil"}, {"cnil"}, "authorise"),
    _a("record_cnil_decision(refused)", "cnil_review",
       lambda rid, u: services.record_cnil_decision(request_id=rid, actor=u, authorised=False, **CNIL_DECISION),
       {"cnil"}, {"cnil"}, "reject"),
    _a("record_contract_signed(start_matching)", "contracting",
       lambda rid, u: services.record_contract_signed(request_id=rid, actor=u),
       {"cnam", "secretariat"}, {"data_holder", "secretariat"}, "start_matching"),
    _a("record_contract_signed(start_extraction)", "contracting",
       lambda rid, u: services.record_contract_signed(request_id=rid, actor=u),
       {"cnam"}, {"data_holder"}, "start_extraction", codes=("snds",)),
    _a("record_matching_done", "matching", lambda rid, u: services.record_matching_done(request_id=rid, actor=u),
       {"cnam"}, {"data_holder"}, "start_extraction"),
    _a("deliver", "extraction", lambda rid, u: services.deliver(request_id=rid, actor=u),
       {"cnam", "platform"}, {"data_holder", "platform"}, "deliver"),
    _a("close", "delivered", lambda rid, u: services.close(request_id=rid, actor=u),
       {"platform", "secretariat"}, {"platform", "secretariat"}, "close"),
    _a("extend_review@cesrees_review", "cesrees_review",
       lambda rid, u: services.extend_review(request_id=rid, actor=u),
       {"cesrees"}, {"cesrees"}, None),
    _a("extend_review@cnil_review", "cnil_review", lambda rid, u: services.extend_review(request_id=rid, actor=u),
       {"cnil"}, {"cnil"}, None),
]

ALLOWED, REFUSED = [], []
for _action in ACTIONS:
    for _persona in PERSONAS:
        if _persona == "superuser" or _persona in _action.allowed:
            ALLOWED.append(pytest.param(_action, _persona, id=f"{_action.id}-by-{_persona}"))
        else:
            REFUSED.append(pytest.param(_action, _persona, id=f"{_action.id}-by-{_persona}"))


def events_of(request_id: int) -> list[Event]:
    return list(Event.objects.filter(request_id=request_id).order_by("at", "id"))


def _prepare(make_request, action: Action) -> AccessRequest:
    request = make_request(action.state, **action.make)
    return AccessRequest.objects.get(pk=request.pk)


def _fsm_allows(request: AccessRequest, action: Action, user) -> bool | None:
    if action.fsm is None:
        return None
    return has_transition_perm(getattr(AccessRequest.objects.get(pk=request.pk), action.fsm), user)


def test_every_persona_and_every_action_is_in_the_matrix():
    assert len(ALLOWED) + len(REFUSED) == len(ACTIONS) * len(PERSONAS)


@pytest.mark.parametrize(("action", "persona"), ALLOWED)
def test_allowed_persona_performs_the_action_and_the_event_records_its_role(make_request, everyone, action,
                                                                            persona):
    request = _prepare(make_request, action)
    user = everyone[persona]
    fsm_verdict = _fsm_allows(request, action, user)
    before = {e.pk for e in events_of(request.pk)}

    action.call(request.pk, user)

    new = [e for e in events_of(request.pk) if e.pk not in before]
    assert len(new) == 1
    assert new[0].actor_id == user.pk
    assert new[0].from_state == action.state
    if persona == "superuser":
        assert new[0].role == "administrator"
    else:
        assert new[0].role == ROLE_OF_PERSONA[persona]
    assert fsm_verdict in (True, None), "django-fsm's has_transition_perm disagrees with the service"


@pytest.mark.parametrize(("action", "persona"), REFUSED)
def test_other_persona_is_refused_and_nothing_is_written(make_request, everyone, action, persona):
    request = _prepare(make_request, action)
    user = everyone[persona]
    fsm_verdict = _fsm_allows(request, action, user)
    before = events_of(request.pk)

    with pytest.raises(ActionNotPermitted):
        action.call(request.pk, user)
    assert fsm_verdict in (False, None), "django-fsm's has_transition_perm disagrees with the service"

    assert events_of(request.pk) == before
    reloaded = AccessRequest.objects.get(pk=request.pk)
    assert (reloaded.state, reloaded.paused_from) == (request.state, request.paused_from)
    assert (reloaded.cesrees_extended, reloaded.cnil_extended) == (False, False)


# --- a data holder acts only on requests for its own datasets -------------------------------
def _realigist_request(make_request, personas, state: str, *, brings_own_data: bool = False) -> AccessRequest:
    """A request for Institut Curie's REALIGIST, walked by Curie past the contract."""
    request = make_request("contracting", codes=("realigist",), brings_own_data=brings_own_data)
    if state != "contracting":
        services.record_contract_signed(request_id=request.pk, actor=personas["curie"])
    request = AccessRequest.objects.get(pk=request.pk)
    assert request.state == state
    return request


REALIGIST_ACTIONS = [
    ("request_information@contracting", "contracting", False,
     lambda rid, u: services.request_information(request_id=rid, actor=u, question="?")),
    ("record_contract_signed(start_extraction)", "contracting", False,
     lambda rid, u: services.record_contract_signed(request_id=rid, actor=u)),
    ("record_contract_signed(start_matching)", "contracting", True,
     lambda rid, u: services.record_contract_signed(request_id=rid, actor=u)),
    ("request_information@matching", "matching", True,
     lambda rid, u: services.request_information(request_id=rid, actor=u, question="?")),
    ("record_matching_done", "matching", True,
     lambda rid, u: services.record_matching_done(request_id=rid, actor=u)),
    ("deliver", "extraction", False, lambda rid, u: services.deliver(request_id=rid, actor=u)),
]


@pytest.mark.parametrize(("state", "brings_own_data", "call"), [a[1:] for a in REALIGIST_ACTIONS],
                         ids=[a[0] for a in REALIGIST_ACTIONS])
def test_curie_acts_as_data_holder_on_a_request_for_its_own_dataset(make_request, personas, state,
                                                                    brings_own_data, call):
    request = _realigist_request(make_request, personas, state, brings_own_data=brings_own_data)
    count = len(events_of(request.pk))
    call(request.pk, personas["curie"])
    events = events_of(request.pk)
    assert len(events) == count + 1
    assert (events[-1].actor_id, events[-1].role) == (personas["curie"].pk, "data_holder")


@pytest.mark.parametrize(("state", "brings_own_data", "call"), [a[1:] for a in REALIGIST_ACTIONS],
                         ids=[a[0] for a in REALIGIST_ACTIONS])
def test_cnam_may_not_act_on_a_request_that_does_not_ask_for_its_datasets(make_request, personas, state,
                                                                          brings_own_data, call):
    request = _realigist_request(make_request, personas, state, brings_own_data=brings_own_data)
    before = events_of(request.pk)
    with pytest.raises(ActionNotPermitted):
        call(request.pk, personas["cnam"])
    assert events_of(request.pk) == before
    assert AccessRequest.objects.get(pk=request.pk).state == state


def test_each_data_holder_of_a_request_acts_on_its_own_task_and_the_request_follows_the_last(make_request,
                                                                                            personas):
    # snds (CNAM) + realigist (Curie): each holder has its task; the request waits for both.
    request = make_request("contracting", codes=("snds", "realigist"), other_holders="open")
    services.record_contract_signed(request_id=request.pk, actor=personas["curie"])
    assert AccessRequest.objects.get(pk=request.pk).state == "contracting"  # the CNAM has not signed
    services.record_contract_signed(request_id=request.pk, actor=personas["cnam"])
    assert AccessRequest.objects.get(pk=request.pk).state == "matching"
    services.record_matching_done(request_id=request.pk, actor=personas["cnam"])
    assert AccessRequest.objects.get(pk=request.pk).state == "matching"  # Curie still matches
    with pytest.raises(IllegalTransition):  # the CNAM's own task is past matching
        services.record_matching_done(request_id=request.pk, actor=personas["cnam"])
    services.record_matching_done(request_id=request.pk, actor=personas["curie"])
    assert AccessRequest.objects.get(pk=request.pk).state == "extraction"


# --- inactive users, and django-fsm's own view of permissions -------------------------------
@pytest.mark.parametrize(("persona", "state", "call"), [
    ("applicant", "draft", lambda rid, u: services.submit(request_id=rid, actor=u)),
    ("secretariat", "submitted", lambda rid, u: services.forward_to_cesrees(request_id=rid, actor=u)),
    ("cnam", "extraction", lambda rid, u: services.deliver(request_id=rid, actor=u)),
    ("superuser", "delivered", lambda rid, u: services.close(request_id=rid, actor=u)),
], ids=["applicant-submit", "secretariat-forward", "cnam-deliver", "superuser-close"])
def test_inactive_user_is_refused(make_request, personas, persona, state, call):
    request = make_request(state)
    user = personas[persona]
    user.is_active = False
    user.save(update_fields=["is_active"])
    before = events_of(request.pk)
    assert not has_transition_perm(getattr(AccessRequest.objects.get(pk=request.pk),
                                           {"draft": "submit", "submitted": "forward_to_cesrees",
                                            "extraction": "deliver", "delivered": "close"}[state]), user)
    with pytest.raises(ActionNotPermitted):
        call(request.pk, user)
    assert events_of(request.pk) == before
    assert AccessRequest.objects.get(pk=request.pk).state == state


@pytest.mark.parametrize(("state", "method", "persona", "expected"), [
    ("draft", "submit", "colleague", True),
    ("draft", "submit", "outsider", False),
    ("submitted", "forward_to_cesrees", "secretariat", True),
    ("submitted", "forward_to_cesrees", "cesrees", False),
    ("submitted", "request_information", "cnil", False),
    ("cnil_review", "reject", "cnil", True),
    ("cnil_review", "reject", "secretariat", False),
    ("contracting", "start_matching", "secretariat", True),
    ("contracting", "start_matching", "curie", False),
    ("extraction", "deliver", "platform", True),
    ("extraction", "deliver", "management", False),
    ("delivered", "close", "anonymous", False),
])
def test_django_fsm_has_transition_perm_agrees_with_the_services(make_request, everyone, state, method, persona,
                                                                 expected):
    request = AccessRequest.objects.get(pk=make_request(state).pk)
    user = everyone[persona]
    assert has_transition_perm(getattr(request, method), user) is expected
    call = {
        "submit": lambda: services.submit(request_id=request.pk, actor=user),
        "forward_to_cesrees": lambda: services.forward_to_cesrees(request_id=request.pk, actor=user),
        "request_information": lambda: services.request_information(request_id=request.pk, actor=user,
                                                                     question="?"),
        # From the CNIL stage, the "reject" transition is the CNIL's refusal, recorded with its decision.
        "reject": (lambda: services.record_cnil_decision(request_id=request.pk, actor=user, authorised=False,
                                                         **CNIL_DECISION))
        if state == "cnil_review" else (lambda: services.reject(request_id=request.pk, actor=user, reason="Non")),
        "start_matching": lambda: services.record_contract_signed(request_id=request.pk, actor=user),
        "deliver": lambda: services.deliver(request_id=request.pk, actor=user),
        "close": lambda: services.close(request_id=request.pk, actor=user),
    }[method]
    if expected:
        call()
        assert AccessRequest.objects.get(pk=request.pk).state != state
    else:
        with pytest.raises(ActionNotPermitted):
            call()
        assert AccessRequest.objects.get(pk=request.pk).state == state


def test_anonymous_user_cannot_create_a_draft(db):
    from catalog.models import Dataset

    count = AccessRequest.objects.count()
    with pytest.raises(ActionNotPermitted):
        services.create_draft(actor=AnonymousUser(), title="Étude", datasets=Dataset.objects.filter(code="snds"))
    assert AccessRequest.objects.count() == count


def test_outsider_may_not_edit_another_organisations_draft(make_request, personas):
    request = make_request("draft")
    with pytest.raises(ActionNotPermitted):
        services.update_draft(request_id=request.pk, actor=personas["outsider"], title="Piraté")
    assert AccessRequest.objects.get(pk=request.pk).title == request.title
