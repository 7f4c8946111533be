"""The regulatory pathway as data: states, routes, roles and the legal transitions.

This module is the single source of the workflow. The django-fsm transitions on
``AccessRequest`` are declared from ``TRANSITIONS``; the history import validates rows with
``edge_allowed``; docs/state-diagram.md is generated from it. It has no ORM queries, so
the import can check a million rows without building model instances.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from django.db import models
from django.utils.translation import gettext_lazy as _

from delays import rules

if TYPE_CHECKING:  # a lazy translation or a str (django-stubs; a dev dependency)
    from django_stubs_ext import StrOrPromise


class State(models.TextChoices):
    DRAFT = "draft", _("Brouillon")
    SUBMITTED = "submitted", _("Déposée (recevabilité)")
    AWAITING_APPLICANT = "awaiting_applicant", _("Compléments demandés")
    CESREES_REVIEW = "cesrees_review", _("Avis du CESREES")
    CNIL_REVIEW = "cnil_review", _("Autorisation CNIL")
    CONTRACTING = "contracting", _("Conventionnement")
    MATCHING = "matching", _("Appariement")
    EXTRACTION = "extraction", _("Extraction")
    DELIVERED = "delivered", _("Données mises à disposition")
    REJECTED = "rejected", _("Refusée")
    WITHDRAWN = "withdrawn", _("Retirée")
    CLOSED = "closed", _("Clôturée")


class Route(models.TextChoices):
    STANDARD = "standard", _("Procédure standard (CESREES puis CNIL)")
    REFERENCE_METHODOLOGY = "reference_methodology", _("Méthodologie de référence (MR-004/005/006)")
    SIMPLIFIED = "simplified", _("Accès simplifié à l'échantillon du SNDS")


class Role(models.TextChoices):
    APPLICANT = "applicant", _("Demandeur")
    SECRETARIAT = "secretariat", _("Secrétariat du HDH")
    CESREES = "cesrees", _("CESREES")
    CNIL = "cnil", _("CNIL")
    DATA_HOLDER = "data_holder", _("Détenteur de données")
    PLATFORM = "platform", _("Équipe plateforme")
    MANAGEMENT = "management", _("Direction")
    ADMINISTRATOR = "administrator", _("Administrateur")
    SYSTEM = "system", _("Système")


class CesreesOpinion(models.TextChoices):
    FAVOURABLE = "favourable", _("Favorable")
    FAVOURABLE_WITH_RECOMMENDATIONS = "favourable_with_recommendations", _("Favorable avec recommandations")
    RESERVED = "reserved", _("Réservé")
    UNFAVOURABLE = "unfavourable", _("Défavorable")
    TACIT = "tacit", _("Favorable (silence du comité)")


# What a person records (the tacit opinion is the committee's silence, never chosen).
RECORDED_OPINIONS: tuple[str, ...] = tuple(v for v in CesreesOpinion.values if v != CesreesOpinion.TACIT)
# Opinions after which the CNIL's silence is an authorisation (DOMAIN.md; see the setting
# HDH_CNIL_SILENCE_ALWAYS_AUTHORISES).
EXPRESSLY_FAVOURABLE_OPINIONS = frozenset({CesreesOpinion.FAVOURABLE, CesreesOpinion.FAVOURABLE_WITH_RECOMMENDATIONS})


class InformationReason(models.TextChoices):
    """Why a reviewer asks the applicant for information (values: delays.rules.INFORMATION_REASONS).

    After an ``incomplete`` request every stage's period restarts (CRPA L.114-5); after the
    others the CNIL's continues (HDH_CLOCK_RESUME_POLICY).
    """

    INCOMPLETE = rules.REASON_INCOMPLETE, _("Dossier incomplet")
    INCORRECT = rules.REASON_INCORRECT, _("Information inexacte")
    OTHER = rules.REASON_OTHER, _("Autre précision")


class EventAction(models.TextChoices):
    """What an event row records: a transition (by its name in TRANSITIONS) or one of these."""

    CREATE = "create", _("Création du brouillon")
    IMPORT = "import", _("Reprise d'historique")
    EXTEND_REVIEW = "extend_review", _("Prolongation du délai d'examen")
    ASSIGN = "assign", _("Attribution à un instructeur")
    # An external expert's read-only access to the dossier, given and taken back (no change of state).
    INVITE_EXPERT = "invite_expert", _("Invitation d'un expert extérieur")
    REVOKE_EXPERT = "revoke_expert", _("Révocation de l'accès d'un expert extérieur")
    SUBMIT = "submit", _("Déposer")
    WITHDRAW = "withdraw", _("Retirer")
    REQUEST_INFORMATION = "request_information", _("Demander des compléments")
    RESUME = "resume", _("Répondre")
    FORWARD_TO_CESREES = "forward_to_cesrees", _("Déclarer recevable et transmettre au CESREES")
    APPROVE_WITHOUT_REVIEW = "approve_without_review", _("Valider sans examen (MR ou accès simplifié)")
    REJECT = "reject", _("Refuser")
    RECORD_CESREES_OPINION = "record_cesrees_opinion", _("Enregistrer l'avis du CESREES")
    AUTHORISE = "authorise", _("Enregistrer l'autorisation CNIL")
    START_MATCHING = "start_matching", _("Convention signée : lancer l'appariement")
    START_EXTRACTION = "start_extraction", _("Lancer l'extraction")
    DELIVER = "deliver", _("Mettre les données à disposition")
    CLOSE = "close", _("Clôturer")
    SET_DUE_DATE = "set_due_date", _("Échéance de la tâche modifiée")


TERMINAL_STATES = frozenset({State.REJECTED, State.WITHDRAWN, State.CLOSED})
# States in which a request can be paused to wait for the applicant.
PAUSABLE_STATES = (
    State.SUBMITTED,
    State.CESREES_REVIEW,
    State.CNIL_REVIEW,
    State.CONTRACTING,
    State.MATCHING,
)
WITHDRAWABLE_STATES = (
    State.DRAFT,
    State.SUBMITTED,
    State.AWAITING_APPLICANT,
    State.CESREES_REVIEW,
    State.CNIL_REVIEW,
    State.CONTRACTING,
    State.MATCHING,
    State.EXTRACTION,
)
# Who acts in each stage: used by transitions whose actor is "whoever owns the current stage"
# (asking the applicant for information, rejecting).
STAGE_ROLES: dict[str, frozenset[str]] = {
    State.SUBMITTED: frozenset({Role.SECRETARIAT}),
    State.CESREES_REVIEW: frozenset({Role.CESREES}),
    State.CNIL_REVIEW: frozenset({Role.CNIL}),
    State.CONTRACTING: frozenset({Role.DATA_HOLDER, Role.SECRETARIAT}),
    State.MATCHING: frozenset({Role.DATA_HOLDER}),
    State.EXTRACTION: frozenset({Role.DATA_HOLDER, Role.PLATFORM}),
}
STAGE_OWNER = "stage_owner"  # marker in TransitionSpec.roles
# The people who instruct a request (notes, assignment, the reviewer's page).
REVIEWER_ROLES = frozenset({Role.SECRETARIAT, Role.CESREES, Role.CNIL, Role.DATA_HOLDER, Role.PLATFORM})
ROUTES_WITHOUT_REVIEW = frozenset({Route.REFERENCE_METHODOLOGY, Route.SIMPLIFIED})


@dataclass(frozen=True)
class TransitionSpec:
    name: str
    sources: tuple[str, ...]
    # None: the target is the state the request was paused from (resume).
    target: str | None
    roles: frozenset[str]
    label: StrOrPromise


def _spec(name: str, sources: Iterable[str], target: str | None, roles: Iterable[str], label: StrOrPromise
          ) -> TransitionSpec:
    return TransitionSpec(name, tuple(sources), target, frozenset(roles), label)


TRANSITIONS: dict[str, TransitionSpec] = {
    spec.name: spec
    for spec in (
        _spec("submit", [State.DRAFT], State.SUBMITTED, {Role.APPLICANT}, _("Déposer")),
        _spec(
            "withdraw",
            WITHDRAWABLE_STATES,
            State.WITHDRAWN,
            {Role.APPLICANT, Role.SECRETARIAT},
            _("Retirer"),
        ),
        _spec(
            "request_information",
            PAUSABLE_STATES,
            State.AWAITING_APPLICANT,
            {STAGE_OWNER},
            _("Demander des compléments"),
        ),
        _spec("resume", [State.AWAITING_APPLICANT], None, {Role.APPLICANT}, _("Répondre")),
        _spec(
            "forward_to_cesrees",
            [State.SUBMITTED],
            State.CESREES_REVIEW,
            {Role.SECRETARIAT},
            _("Déclarer recevable et transmettre au CESREES"),
        ),
        _spec(
            "approve_without_review",
            [State.SUBMITTED],
            State.CONTRACTING,
            {Role.SECRETARIAT},
            _("Valider sans examen (MR ou accès simplifié)"),
        ),
        _spec(
            "reject",
            [State.SUBMITTED, State.CNIL_REVIEW],
            State.REJECTED,
            {STAGE_OWNER},
            _("Refuser"),
        ),
        _spec(
            "record_cesrees_opinion",
            [State.CESREES_REVIEW],
            State.CNIL_REVIEW,
            {Role.CESREES},
            _("Enregistrer l'avis du CESREES"),
        ),
        _spec(
            "authorise",
            [State.CNIL_REVIEW],
            State.CONTRACTING,
            {Role.CNIL},
            _("Enregistrer l'autorisation CNIL"),
        ),
        _spec(
            "start_matching",
            [State.CONTRACTING],
            State.MATCHING,
            {Role.DATA_HOLDER, Role.SECRETARIAT},
            _("Convention signée : lancer l'appariement"),
        ),
        _spec(
            "start_extraction",
            [State.CONTRACTING, State.MATCHING],
            State.EXTRACTION,
            {Role.DATA_HOLDER},
            _("Lancer l'extraction"),
        ),
        _spec(
            "deliver",
            [State.EXTRACTION],
            State.DELIVERED,
            {Role.DATA_HOLDER, Role.PLATFORM},
            _("Mettre les données à disposition"),
        ),
        _spec(
            "close",
            [State.DELIVERED],
            State.CLOSED,
            {Role.PLATFORM, Role.SECRETARIAT},
            _("Clôturer"),
        ),
    )
}


def condition_refusal(
    source: str, target: str, *, requires_matching: bool, route: str, paused_from: str
) -> str | None:
    """The business conditions of an edge, beyond its existence in the graph.

    None when the condition holds; else why not, in words for a person (the services' error,
    the import's line message and the back office all show this one text).
    """
    if source == State.SUBMITTED and target == State.CONTRACTING and route not in ROUTES_WITHOUT_REVIEW:
        return str(_("Seules les procédures MR et d'accès simplifié passent directement au conventionnement."))
    if source == State.CONTRACTING and target == State.MATCHING and not requires_matching:
        return str(_("Cette demande ne nécessite pas d'appariement."))
    if source == State.CONTRACTING and target == State.EXTRACTION and requires_matching:
        return str(_("Cette demande nécessite un appariement avant l'extraction."))
    if source == State.AWAITING_APPLICANT and target != State.WITHDRAWN and target != paused_from:
        return str(_("La demande reprend à l'étape suspendue « %(state)s ».") % {"state": paused_from or "?"})
    return None


def condition_holds(
    source: str, target: str, *, requires_matching: bool, route: str, paused_from: str
) -> bool:
    """Whether the edge's business condition holds (see ``condition_refusal``)."""
    return condition_refusal(source, target, requires_matching=requires_matching, route=route,
                             paused_from=paused_from) is None


def edges() -> set[tuple[str, str]]:
    """Every (source, target) pair of the graph, conditions aside."""
    result = set()
    for spec in TRANSITIONS.values():
        targets = PAUSABLE_STATES if spec.target is None else (spec.target,)
        for source in spec.sources:
            for target in targets:
                result.add((str(source), str(target)))
    return result


_EDGES = frozenset(edges())


def edge_allowed(
    source: str, target: str, *, requires_matching: bool, route: str, paused_from: str = ""
) -> bool:
    """Whether a request may move from ``source`` to ``target`` given its attributes."""
    return (source, target) in _EDGES and condition_holds(
        source, target, requires_matching=requires_matching, route=route, paused_from=paused_from
    )


def transition_for_edge(source: str, target: str) -> TransitionSpec | None:
    for spec in TRANSITIONS.values():
        if source in spec.sources and (
            spec.target == target or (spec.target is None and target in PAUSABLE_STATES)
        ):
            return spec
    return None


def roles_for(spec: TransitionSpec, source: str) -> frozenset[str]:
    """The roles allowed to fire ``spec`` from ``source``."""
    if STAGE_OWNER in spec.roles:
        return STAGE_ROLES.get(source, frozenset()) | (spec.roles - {STAGE_OWNER})
    return spec.roles


def acting_roles(state: str) -> frozenset[str]:
    """Who acts on a request in ``state`` (its assignable reviewers): the stage owners, for a
    delivered request those who close it, else the secretariat."""
    if state == State.DELIVERED:
        return roles_for(TRANSITIONS["close"], state)
    return STAGE_ROLES.get(state) or frozenset({Role.SECRETARIAT})


def expert_roles(state: str) -> frozenset[str]:
    """Who invites an external expert to read a request in ``state``, and revokes any invitation:
    the team that owns the stage, and the secretariat (whoever sent an invitation may also end it)."""
    return acting_roles(state) | {Role.SECRETARIAT}


# Whose back-office queue a request waits in, by state: the stage owners, and the platform
# team for a delivered request (it closes it; the secretariat may too, but does not queue it).
QUEUE_ROLES: dict[str, frozenset[str]] = {**STAGE_ROLES, State.DELIVERED: frozenset({Role.PLATFORM})}


# --- extensions: the CESREES period is extended once, the CNIL period renewed once ---------------
EXTENSION_ROLES: dict[str, str] = {State.CESREES_REVIEW: Role.CESREES, State.CNIL_REVIEW: Role.CNIL}


def extension_refusal(state: str, *, already_extended: bool, period_over: bool = False) -> str | None:
    """None when the period of the stage in ``state`` may be extended now; else why not.

    Once per visit, up to the end of the due date (delays.rules.extension_refusal reads the
    visit's clock and gives ``already_extended`` and ``period_over``).
    """
    if state not in EXTENSION_ROLES:
        return str(_("Seuls les délais du CESREES et de la CNIL se prolongent."))
    if already_extended:
        return str(_("Le délai de cette étape a déjà été prolongé une fois."))
    if period_over:
        return str(_("Le délai de cette étape est déjà écoulé : il ne peut plus être prolongé."))
    return None


def extension_refusal_of(code: str | None, state: str) -> str | None:
    """The message of delays.rules.extension_refusal's ``code`` for a request in ``state``."""
    if code is None:
        return None
    if code == rules.EXTENSION_NO_CLOCK:
        state = ""
    return extension_refusal(state, already_extended=code == rules.EXTENSION_ALREADY,
                             period_over=code == rules.EXTENSION_TOO_LATE)


# --- what a person does: the actions the back office offers and the services take -----------------
@dataclass(frozen=True)
class Facts:
    """What the pathway's rules need to know of a request (no ORM here)."""

    state: str
    route: str = Route.STANDARD
    requires_matching: bool = False
    paused_from: str = ""
    # Why the datasets do not fit the request's route without committee review ("" when they
    # do, or for the standard route): see ``route_misfit``.
    route_misfit: str = ""
    cesrees_extended: bool = False  # in the current visit
    cnil_extended: bool = False  # in the current visit
    # The current visit's period ran out (its due date, moved to a working day, is past).
    period_over: bool = False


# The actions in the order a reviewer's page lists them.
ACTIONS: tuple[str, ...] = (
    "approve_without_review", "forward_to_cesrees", "request_information", "record_cesrees_opinion",
    "record_cnil_decision", "extend_review", "record_contract_signed", "record_matching_done", "deliver",
    "close", "reject", "withdraw",
)


def action_transition(action: str, facts: Facts) -> str | None:
    """The transition ``action`` fires for a request in ``facts`` (None: extend_review, no move)."""
    if action == "record_contract_signed":
        return "start_matching" if facts.requires_matching else "start_extraction"
    if action == "record_matching_done":
        return "start_extraction"
    if action == "record_cnil_decision":
        return "authorise"  # or the refusal ("reject" from the CNIL stage)
    if action == "extend_review":
        return None
    return action


def action_refusal(action: str, facts: Facts) -> str | None:
    """Rules of an action beyond its transition's edge, condition and roles; None when it may go on."""
    if action == "approve_without_review" and facts.route_misfit:
        return facts.route_misfit
    if action == "reject" and facts.state == State.CNIL_REVIEW:
        return str(_("Un refus de la CNIL s'enregistre avec sa décision (numéro et date) : "
                     "enregistrez la décision de la CNIL."))
    if action == "record_matching_done" and facts.state != State.MATCHING:
        return str(_("Seul un appariement en cours se déclare terminé."))
    if action == "record_cnil_decision" and facts.state != State.CNIL_REVIEW:
        return str(_("Une décision de la CNIL ne s'enregistre qu'à l'étape CNIL."))
    if action == "extend_review":
        extended = facts.cesrees_extended if facts.state == State.CESREES_REVIEW else facts.cnil_extended
        return extension_refusal(facts.state, already_extended=extended, period_over=facts.period_over)
    return None


def action_roles(action: str, facts: Facts) -> frozenset[str]:
    """The roles that may take ``action`` on a request in ``facts``."""
    if action == "extend_review":
        role = EXTENSION_ROLES.get(facts.state)
        return frozenset({role}) if role else frozenset()
    name = action_transition(action, facts)
    return roles_for(TRANSITIONS[name], facts.state) if name else frozenset()


def action_allowed(action: str, facts: Facts, roles: frozenset[str] | set[str]) -> bool:
    """Whether someone holding ``roles`` may take ``action`` now: what the services accept."""
    if not (set(roles) & action_roles(action, facts)) or action_refusal(action, facts) is not None:
        return False
    name = action_transition(action, facts)
    if name is None:
        return True
    spec = TRANSITIONS[name]
    if facts.state not in spec.sources:
        return False
    target = spec.target or facts.paused_from
    return condition_holds(facts.state, target, requires_matching=facts.requires_matching, route=facts.route,
                           paused_from=facts.paused_from)


def available_actions(facts: Facts, roles: frozenset[str] | set[str]) -> list[str]:
    """The actions someone holding ``roles`` may take now, in page order.

    One path is offered out of completeness: a request whose route skips the committees (and
    whose datasets fit it) is validated without review rather than sent to the CESREES.
    """
    actions = [action for action in ACTIONS if action_allowed(action, facts, roles)]
    if "approve_without_review" in actions and "forward_to_cesrees" in actions:
        actions.remove("forward_to_cesrees")
    return actions


SIMPLIFIED_ACCESS_DATASETS = frozenset({"esnd"})


def route_misfit(route: str, *, dataset_codes: frozenset[str] | set[str], brings_own_data: bool,
                 requires_matching: bool) -> str:
    """Why the datasets do not fit ``route`` without committee review, or "".

    Simplified access is for the SNDS sample (ESND) alone; a reference methodology (MR-004
    forbids linking sources) cannot serve a project that needs matching. Such a request goes
    through the standard route (forward_to_cesrees) instead.
    """
    if route == Route.SIMPLIFIED and (set(dataset_codes) != SIMPLIFIED_ACCESS_DATASETS or brings_own_data):
        return str(_("L'accès simplifié ne concerne que l'échantillon du SNDS (ESND), sans autre source : "
                     "transmettez la demande au CESREES."))
    if route == Route.REFERENCE_METHODOLOGY and requires_matching:
        return str(_("Une méthodologie de référence ne permet pas d'apparier plusieurs sources : "
                     "transmettez la demande au CESREES."))
    return ""


# --- holder tasks: the post-decision part, once per data holder -----------------------------------
class HolderTaskState(models.TextChoices):
    """Where one data holder's part of a request stands: the request's post-decision states,
    same values and labels (a request's post-decision state is its least advanced task's)."""

    CONTRACTING = "contracting", _("Conventionnement")
    MATCHING = "matching", _("Appariement")
    EXTRACTION = "extraction", _("Extraction")
    DELIVERED = "delivered", _("Données mises à disposition")


_When = TypeVar("_When")  # what dates a step: an instant, or whatever the caller carries with it
# The task states in pathway order, and the request states that follow the tasks.
TASK_ORDER: tuple[str, ...] = tuple(HolderTaskState.values)
POST_DECISION_STATES = frozenset({State.CONTRACTING, State.MATCHING, State.EXTRACTION, State.DELIVERED})
# The request states in which a task may move: decided, not paused, not ended, not yet delivered.
TASK_ACTIVE_REQUEST_STATES = frozenset({State.CONTRACTING, State.MATCHING, State.EXTRACTION})

# A task's transitions mirror the request's own (same names, same roles): the data holder's
# staff act on their holder's tasks only (Profile.data_holder), the secretariat may record a
# contract signed before matching, the platform team may deliver.
TASK_TRANSITIONS: dict[str, TransitionSpec] = {
    name: _spec(name, [s for s in TRANSITIONS[name].sources if s in TASK_ORDER], TRANSITIONS[name].target,
                TRANSITIONS[name].roles, TRANSITIONS[name].label)
    for name in ("start_matching", "start_extraction", "deliver")
}
# Every role that acts on tasks (who may also set a task's due date or assignee).
TASK_ROLES: frozenset[str] = frozenset().union(*(spec.roles for spec in TASK_TRANSITIONS.values()))
# The actions on a task, in the order the back office lists them (names of the request's own).
TASK_ACTIONS: tuple[str, ...] = ("record_contract_signed", "record_matching_done", "deliver")


def task_condition_refusal(source: str, target: str, *, requires_matching: bool) -> str | None:
    """The business condition of a task's edge (the request's: matching only when required)."""
    return condition_refusal(source, target, requires_matching=requires_matching, route=Route.STANDARD,
                             paused_from="")


def task_action_transition(action: str, *, requires_matching: bool) -> str:
    """The task transition ``action`` (one of TASK_ACTIONS) fires."""
    return action_transition(action, Facts(state=State.CONTRACTING, requires_matching=requires_matching)) or action


def task_action_refusal(action: str, state: str, *, requires_matching: bool) -> str | None:
    """None when ``action`` may be taken on a task in ``state``; else why not, in words."""
    if action not in TASK_ACTIONS:
        return str(_("Action inconnue."))
    if action == "record_matching_done" and state != HolderTaskState.MATCHING:
        return str(_("Seul un appariement en cours se déclare terminé."))
    spec = TASK_TRANSITIONS[task_action_transition(action, requires_matching=requires_matching)]
    if state not in spec.sources:
        return str(_("Cette action n'est pas possible à l'étape « %(state)s » de la tâche.") % {
            "state": HolderTaskState(state).label if state in HolderTaskState.values else state})
    return task_condition_refusal(state, str(spec.target), requires_matching=requires_matching)


def task_action_roles(action: str, *, requires_matching: bool) -> frozenset[str]:
    """The roles that may take ``action`` on a task (DATA_HOLDER: the task's holder's staff)."""
    return TASK_TRANSITIONS[task_action_transition(action, requires_matching=requires_matching)].roles


def available_task_actions(state: str, roles: frozenset[str] | set[str], *, requires_matching: bool) -> list[str]:
    """The actions someone holding ``roles`` on a task (roles.task_roles) may take on it now."""
    return [action for action in TASK_ACTIONS
            if set(roles) & task_action_roles(action, requires_matching=requires_matching)
            and task_action_refusal(action, state, requires_matching=requires_matching) is None]


def task_edge_allowed(source: str, target: str, *, requires_matching: bool) -> bool:
    """Whether a task may move from ``source`` to ``target`` (the history import's holder rows)."""
    return any(source in spec.sources and spec.target == target for spec in TASK_TRANSITIONS.values()) and \
        task_condition_refusal(source, target, requires_matching=requires_matching) is None


def request_state_of_tasks(task_states: Iterable[str]) -> str | None:
    """The request's post-decision state: its least advanced task's (None without a task)."""
    states = [s for s in task_states if s in TASK_ORDER]
    return min(states, key=TASK_ORDER.index) if states else None


def task_path(*, requires_matching: bool) -> tuple[str, ...]:
    """The states a task (and its request) goes through after the decision."""
    return tuple(s for s in TASK_ORDER if requires_matching or s != HolderTaskState.MATCHING)


def request_moves(current: str, target: str | None, *, requires_matching: bool) -> list[str]:
    """The request transitions that take a request in ``current`` to ``target`` (its least
    advanced task's state), in order; none when it is there already, or not on the path."""
    path = task_path(requires_matching=requires_matching)
    if target is None or current not in path or target not in path or path.index(target) <= path.index(current):
        return []
    names = []
    for source, to in zip(path[path.index(current):path.index(target)], path[path.index(current) + 1:], strict=False):
        spec = transition_for_edge(source, to)
        assert spec is not None, (source, to)
        names.append(spec.name)
    return names


def task_steps(states: Iterable[tuple[str, _When]]) -> list[tuple[str, str, _When]]:
    """A holder task's history, read from its request's (state entered, instant) in order:
    (from, to, instant) for each step. The task opens ("" → contracting) when the request first
    enters contracting and follows each post-decision state the request enters after it; a
    closed request was delivered; waits on the applicant, refusals and withdrawals are not steps.
    The history import writes imported tasks with it."""
    steps: list[tuple[str, str, _When]] = []
    current = ""
    for state, at in states:
        if state not in TASK_ORDER:
            continue
        if not current:
            if state == HolderTaskState.CONTRACTING:
                steps.append(("", state, at))
                current = state
            continue
        if TASK_ORDER.index(state) > TASK_ORDER.index(current):
            steps.append((current, state, at))
            current = state
    return steps
