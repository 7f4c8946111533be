"""The pathway's services: one per action a person (or the system) takes on a request.

Each is the one shape of ``core.act``; the workflow (access_requests/workflow.py) says which
transition an action fires, who may take it and under which conditions. ``acting_as`` narrows
the roles the actor may use (the back office passes ``workflow.REVIEWER_ROLES``: an applicant
withdraws in the portal).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from django.utils.translation import gettext as _

from access_requests.completeness import completeness_problems
from access_requests.exceptions import InvalidInput
from access_requests.models import AccessRequest, MessageKind
from access_requests.services.core import act, text
from access_requests.services.messages import MESSAGE_MAX_LENGTH, check_uploads, record_pathway_message
from access_requests.services.tasks import act_on_tasks
from access_requests.workflow import CesreesOpinion, InformationReason, Role, State


def _complete(request: AccessRequest) -> None:
    if request.state != State.DRAFT:
        return
    problems = completeness_problems(request)
    if problems:
        raise InvalidInput(_("Le dossier est incomplet : %(problems)s") % {"problems": " ".join(problems)},
                           problems=problems)


def submit(*, request_id: int, actor, comment: str = "", expected_state: str | None = None,
        acting_as: Iterable[str] | None = None) -> AccessRequest:
    return act(request_id=request_id, actor=actor, action="submit", comment=comment, expected_state=expected_state,
               before=_complete)


def withdraw(*, request_id: int, actor, reason: str = "", expected_state: str | None = None,
        acting_as: Iterable[str] | None = None) -> AccessRequest:
    return act(request_id=request_id, actor=actor, action="withdraw", comment=reason, expected_state=expected_state,
               acting_as=acting_as)


def request_information(*, request_id: int, actor, question: str, reason: str = "",
                        expected_state: str | None = None, acting_as: Iterable[str] | None = None) -> AccessRequest:
    """Hand the dossier back to the applicant with a question and its reason
    (``InformationReason``; none recorded counts as incomplete): the clock stops. The question is
    also a message of the thread (``MessageKind.INFORMATION_REQUEST``)."""
    question = text(question, _("question"), max_length=MESSAGE_MAX_LENGTH)
    payload = {"question": question}
    if reason:
        if reason not in InformationReason.values:
            raise InvalidInput(_("Motif de la demande de précisions inconnu : %(reason)s.") % {"reason": reason})
        payload["reason"] = reason

    def message(request, event, role):
        record_pathway_message(request, event, actor=actor, role=role, kind=MessageKind.INFORMATION_REQUEST,
                               body=question)

    return act(request_id=request_id, actor=actor, action="request_information", comment=question,
               payload=payload, expected_state=expected_state, acting_as=acting_as, after=message)


def answer_information(*, request_id: int, actor, answer: str, uploads: Sequence = (),
                       expected_state: str | None = None, acting_as: Iterable[str] | None = None) -> AccessRequest:
    """The applicant answers, with documents if need be (``uploads``, checked like the dossier's):
    the stage that asked resumes. The answer is also a message of the thread (``MessageKind.ANSWER``)
    carrying the documents."""
    answer = text(answer, _("réponse"), max_length=MESSAGE_MAX_LENGTH)
    checked = check_uploads(uploads)  # before any write: nothing is stored on a refusal

    def message(request, event, role):
        record_pathway_message(request, event, actor=actor, role=Role.APPLICANT, kind=MessageKind.ANSWER,
                               body=answer, checked=checked)

    return act(request_id=request_id, actor=actor, action="resume", comment=answer, payload={"answer": answer},
               expected_state=expected_state, acting_as=acting_as, after=message)


def forward_to_cesrees(*, request_id: int, actor, comment: str = "", urgent: bool = False,
                       expected_state: str | None = None, acting_as: Iterable[str] | None = None) -> AccessRequest:
    """The secretariat declares the dossier complete and sends it to the CESREES (``urgent``:
    the committee's 15-day procedure)."""
    return act(request_id=request_id, actor=actor, action="forward_to_cesrees", comment=comment,
               payload={"urgent": True} if urgent else None, expected_state=expected_state, acting_as=acting_as)


def approve_without_review(*, request_id: int, actor, comment: str = "",
                           expected_state: str | None = None,
        acting_as: Iterable[str] | None = None) -> AccessRequest:
    """Reference methodology or simplified access: straight to contracting, when the datasets fit the route."""
    return act(request_id=request_id, actor=actor, action="approve_without_review", comment=comment,
               expected_state=expected_state,
               acting_as=acting_as)


def reject(*, request_id: int, actor, reason: str, payload: dict | None = None,
           expected_state: str | None = None,
        acting_as: Iterable[str] | None = None) -> AccessRequest:
    """The secretariat finds the dossier inadmissible (a CNIL refusal goes through record_cnil_decision)."""
    reason = text(reason, _("motif"))
    return act(request_id=request_id, actor=actor, action="reject", comment=reason,
               payload={"reason": reason, **(payload or {})}, expected_state=expected_state,
               acting_as=acting_as)


def record_cesrees_opinion(*, request_id: int, actor, opinion: str, comment: str = "",
                           expected_state: str | None = None,
        acting_as: Iterable[str] | None = None) -> AccessRequest:
    if opinion not in CesreesOpinion.values:
        raise InvalidInput(_("Avis du CESREES inconnu : %(opinion)s.") % {"opinion": opinion})
    return act(request_id=request_id, actor=actor, action="record_cesrees_opinion", comment=comment,
               payload={"opinion": opinion}, args=(opinion,), expected_state=expected_state,
               acting_as=acting_as)


def record_cnil_decision(*, request_id: int, actor, authorised: bool, decision_number: str,
                         decision_date: dt.date, comment: str = "", expected_state: str | None = None,
        acting_as: Iterable[str] | None = None) -> AccessRequest:
    """Record the CNIL's authorisation (to contracting) or refusal (rejected)."""
    decision_number = text(decision_number, _("numéro de décision"), max_length=64)
    if not isinstance(decision_date, dt.date):
        raise InvalidInput(_("La date de décision est obligatoire."))
    payload = {"authorised": authorised, "decision_number": decision_number, "decision_date": decision_date.isoformat()}
    if authorised:
        return act(request_id=request_id, actor=actor, action="record_cnil_decision", comment=comment,
                   payload=payload, args=(decision_number, decision_date), expected_state=expected_state,
               acting_as=acting_as)
    return act(request_id=request_id, actor=actor, action="record_cnil_decision", transition="reject",
               comment=comment or _("Refus de la CNIL"), payload=payload, expected_state=expected_state,
               acting_as=acting_as)


def record_contract_signed(*, request_id: int, actor, comment: str = "",
                           expected_state: str | None = None,
        acting_as: Iterable[str] | None = None) -> AccessRequest:
    """The contract is signed, for every holder task the actor may act on (a holder's staff: their
    own): matching when several sources are linked, else extraction. The request follows its
    least advanced task (services.tasks)."""
    return act_on_tasks(request_id=request_id, actor=actor, action="record_contract_signed", comment=comment,
                        expected_state=expected_state, acting_as=acting_as)


def record_matching_done(*, request_id: int, actor, comment: str = "",
                         expected_state: str | None = None,
        acting_as: Iterable[str] | None = None) -> AccessRequest:
    """The matching is done for every holder task in matching the actor may act on."""
    return act_on_tasks(request_id=request_id, actor=actor, action="record_matching_done", comment=comment,
                        expected_state=expected_state, acting_as=acting_as)


def deliver(*, request_id: int, actor, comment: str = "", expected_state: str | None = None,
        acting_as: Iterable[str] | None = None) -> AccessRequest:
    """The data is delivered for every holder task in extraction the actor may act on; the request
    is delivered once every task is."""
    return act_on_tasks(request_id=request_id, actor=actor, action="deliver", comment=comment,
                        expected_state=expected_state, acting_as=acting_as)


def close(*, request_id: int, actor, comment: str = "", expected_state: str | None = None,
        acting_as: Iterable[str] | None = None) -> AccessRequest:
    return act(request_id=request_id, actor=actor, action="close", comment=comment, expected_state=expected_state,
               acting_as=acting_as)


def extend_review(*, request_id: int, actor, comment: str = "", expected_state: str | None = None,
        acting_as: Iterable[str] | None = None) -> AccessRequest:
    """Extend the CESREES period by one month, or renew the CNIL period, once each (no change of state)."""
    return act(request_id=request_id, actor=actor, action="extend_review", comment=comment,
               expected_state=expected_state,
               acting_as=acting_as)
