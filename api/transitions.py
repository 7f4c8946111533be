"""The workflow's actions by name, as the API takes them: the pages' own forms validate the
fields (the same messages) and call the same services with the state the client saw.

Reviewers' actions are the back office's (``backoffice.forms.ACTION_FORMS``, acting in the
reviewer roles); the applicant's are the portal's (``submit``, ``answer_information``, and
``withdraw`` when the user is on the applicant's side). Holder tasks' actions are the back
office's task forms.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms as django_forms

from access_requests import services
from access_requests.models import AccessRequest, HolderTask
from access_requests.roles import user_roles
from access_requests.workflow import ACTIONS, TASK_ACTIONS, Role
from backoffice.forms import ACTION_FORMS, TASK_ACTION_FORMS
from hdh_access.lib.errors import InvalidInput
from portal.forms import AnswerForm, SubmitForm
from portal.forms import WithdrawForm as ApplicantWithdrawForm

APPLICANT_ACTIONS: tuple[str, ...] = ("submit", "answer_information", "withdraw")
REQUEST_TRANSITIONS: tuple[str, ...] = tuple(dict.fromkeys((*APPLICANT_ACTIONS, *ACTIONS)))

_APPLICANT: dict[str, tuple[type[django_forms.Form], Callable[..., AccessRequest]]] = {
    "submit": (SubmitForm, lambda request, actor, data: services.submit(
        request_id=request.pk, actor=actor, expected_state=data["expected_state"], acting_as={Role.APPLICANT})),
    "answer_information": (AnswerForm, lambda request, actor, data: services.answer_information(
        request_id=request.pk, actor=actor, answer=data["answer"], uploads=(),
        expected_state=data["expected_state"], acting_as={Role.APPLICANT})),
    "withdraw": (ApplicantWithdrawForm, lambda request, actor, data: services.withdraw(
        request_id=request.pk, actor=actor, reason=data["reason"], expected_state=data["expected_state"],
        acting_as={Role.APPLICANT})),
}


def _data(fields: dict[str, Any], expected_state: str) -> dict[str, Any]:
    data = {key: ("on" if value is True else "" if value is False else value) for key, value in fields.items()
            if value is not None}
    data["expected_state"] = expected_state
    return data


def _invalid(form: django_forms.Form) -> InvalidInput:
    errors = {field: [str(e["message"]) for e in messages] for field, messages in form.errors.get_json_data().items()}
    first = next(iter(errors.values()))[0]
    return InvalidInput(first, errors=errors)


def perform(*, name: str, request: AccessRequest, actor, fields: dict[str, Any]) -> AccessRequest:
    """Take the action ``name`` on ``request`` as ``actor``, with the state read by the caller."""
    applicant = name in _APPLICANT and (name != "withdraw" or Role.APPLICANT in user_roles(actor, request))
    if applicant:
        form_class, call = _APPLICANT[name]
        form = form_class(_data(fields, request.state))
        if not form.is_valid():
            raise _invalid(form)
        return call(request, actor, form.cleaned_data)
    action_form = ACTION_FORMS[name](_data(fields, request.state))
    if not action_form.is_valid():
        raise _invalid(action_form)
    return action_form.perform(request_id=request.pk, actor=actor)


def perform_on_task(*, name: str, task: HolderTask, actor, fields: dict[str, Any]) -> HolderTask:
    form = TASK_ACTION_FORMS[name](_data(fields, task.state))
    if not form.is_valid():
        raise _invalid(form)
    return form.perform(task_id=task.pk, actor=actor)


__all__ = ["REQUEST_TRANSITIONS", "TASK_ACTIONS", "perform", "perform_on_task"]
