"""A dossier's story as everyone outside the back office reads it: the portal page and the PDFs.

Each event in the past tense ("Demande déposée"), with the role that acted, never a reviewer's
name; assignments and the external experts' invitations are left out (the back office's own
organisation of work). And one line per data holder after the decision (``holder_lines``). The portal's page
(portal.selectors.history) and the dossier PDF (documents.builders) read the same rows, so the
applicant's page and the document both of them may hand on say the same thing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from access_requests.models import AccessRequest, CesreesOpinion, Event
from access_requests.workflow import TRANSITIONS, EventAction, HolderTaskState, Role, State

# Each event as the applicant reads it: what happened, in the past tense.
ACTION_LABELS = {
    "create": gettext_lazy("Brouillon créé"),
    "import": gettext_lazy("Dossier repris de l'historique"),
    "submit": gettext_lazy("Demande déposée"),
    "withdraw": gettext_lazy("Demande retirée"),
    "request_information": gettext_lazy("Compléments demandés"),
    "resume": gettext_lazy("Réponse du demandeur envoyée"),
    "forward_to_cesrees": gettext_lazy("Dossier déclaré complet et transmis au CESREES"),
    "approve_without_review": gettext_lazy("Dossier validé sans examen (méthodologie de référence ou accès simplifié)"),
    "reject": gettext_lazy("Demande refusée"),
    "record_cesrees_opinion": gettext_lazy("Avis du CESREES rendu"),
    "authorise": gettext_lazy("Autorisation de la CNIL délivrée"),
    "start_matching": gettext_lazy("Convention signée : appariement lancé"),
    "start_extraction": gettext_lazy("Extraction des données lancée"),
    "deliver": gettext_lazy("Données mises à disposition"),
    "close": gettext_lazy("Projet clôturé"),
    "extend_review": gettext_lazy("Délai de l'étape prolongé"),
}


# Events of the reviewers' own organisation of work, left out of the applicant's history: who
# instructs the request, and the external experts they asked to read it.
BACKOFFICE_ONLY_ACTIONS = frozenset({EventAction.ASSIGN, EventAction.INVITE_EXPERT, EventAction.REVOKE_EXPERT})


def state_label(state: str) -> str:
    return str(State(state).label) if state in State.values else state


@dataclass(frozen=True)
class HistoryRow:
    at: dt.datetime
    label: str
    from_label: str
    to_label: str
    role_label: str
    comment: str
    changes_state: bool
    detail: str = ""


def history(events: Iterable[Event]) -> list[HistoryRow]:
    """The event log (``events`` in the log's order) as the applicant reads it: roles, never
    reviewers' names."""
    rows = []
    for event in events:
        if event.action in BACKOFFICE_ONLY_ACTIONS:
            continue  # the back office's own organisation of work, not a step of the dossier
        spec = TRANSITIONS.get(event.action)
        label = ACTION_LABELS.get(event.action) or (spec.label if spec else None) or state_label(event.to_state)
        rows.append(HistoryRow(
            at=event.at, label=str(label), from_label=state_label(event.from_state) if event.from_state else "",
            to_label=state_label(event.to_state), role_label=str(Role(event.role).label) if event.role in Role.values else "",
            comment=event.comment, changes_state=event.from_state != event.to_state, detail=_event_detail(event),
        ))
    return rows


def _event_detail(event: Event) -> str:
    """What the event decided, from its payload (the CESREES opinion, the CNIL decision)."""
    payload = event.payload or {}
    if event.action == "record_cesrees_opinion" and payload.get("opinion") in CesreesOpinion.values:
        return _("Avis : %(opinion)s") % {"opinion": CesreesOpinion(payload["opinion"]).label}
    if event.action == "authorise" and payload.get("decision_number"):
        return _("Décision n° %(number)s") % {"number": payload["decision_number"]}
    return ""


# --- one line per data holder --------------------------------------------------------------------
# Before the decision the holders of the requested datasets are still to come.
BEFORE_DECISION_STATES = frozenset({State.DRAFT, State.SUBMITTED, State.AWAITING_APPLICANT, State.CESREES_REVIEW,
                                    State.CNIL_REVIEW})
WAITING = "waiting"
WAITING_LABEL = gettext_lazy("À venir, après l'autorisation")


@dataclass(frozen=True)
class HolderLine:
    """One data holder's part of the request, as the applicant reads it."""

    holder: str
    state: str  # a HolderTaskState, or WAITING before the decision
    label: str
    since: dt.datetime | None = None
    due_date: dt.date | None = None
    delivered_at: dt.datetime | None = None

    @property
    def waiting(self) -> bool:
        return self.state == WAITING

    @property
    def delivered(self) -> bool:
        return self.state == HolderTaskState.DELIVERED


def holder_lines(request: AccessRequest) -> list[HolderLine]:
    """One line per data holder: its task's step, since when, its due date and its delivery;
    before the decision, the holders of the requested datasets, waiting. Reads the prefetched
    ``holder_tasks`` and ``datasets`` (portal.selectors.request_for_page, documents.builders.document_request)."""
    tasks = list(request.holder_tasks.all())
    if tasks:
        return [HolderLine(holder=t.holder.name, state=t.state, label=str(HolderTaskState(t.state).label),
                           since=t.entered_at, due_date=t.due_date if t.state != HolderTaskState.DELIVERED else None,
                           delivered_at=t.delivered_at) for t in tasks]
    if request.state not in BEFORE_DECISION_STATES:
        return []
    names = sorted({dataset.holder.name for dataset in request.datasets.all()})
    return [HolderLine(holder=name, state=WAITING, label=str(WAITING_LABEL)) for name in names]
