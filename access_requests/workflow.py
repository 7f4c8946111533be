"""The regulatory pathway as data: states, routes, roles and the legal transitions.

This module is the single source of the workflow. The django-fsm transitions on
``AccessRequest`` are declared from ``TRANSITIONS``; the history import validates rows with
``edge_allowed``; docs/state-diagram.md is generated from it. It has no ORM queries, so
the import can check a million rows without building model instances.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models
from django.utils.translation import gettext_lazy as _


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
ROUTES_WITHOUT_REVIEW = frozenset({Route.REFERENCE_METHODOLOGY, Route.SIMPLIFIED})


@dataclass(frozen=True)
class TransitionSpec:
    name: str
    sources: tuple[str, ...]
    # None: the target is the state the request was paused from (resume).
    target: str | None
    roles: frozenset[str]
    label: str


def _spec(name, sources, target, roles, label) -> TransitionSpec:
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


def condition_holds(
    source: str, target: str, *, requires_matching: bool, route: str, paused_from: str
) -> bool:
    """The business conditions of an edge, beyond its existence in the graph."""
    if source == State.SUBMITTED and target == State.CONTRACTING:
        return route in ROUTES_WITHOUT_REVIEW
    if source == State.CONTRACTING and target == State.MATCHING:
        return requires_matching
    if source == State.CONTRACTING and target == State.EXTRACTION:
        return not requires_matching
    if source == State.AWAITING_APPLICANT and target != State.WITHDRAWN:
        return target == paused_from
    return True


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
