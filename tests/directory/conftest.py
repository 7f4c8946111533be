"""Requests for the directory's tests, made through the services (tests/conftest.py's path)."""

from __future__ import annotations

import pytest

from access_requests import services
from access_requests.workflow import Route, State
from tests.conftest import _steps, advance_other_holders, complete_dossier, datasets


@pytest.fixture
def project(personas):
    """``project(state, title=..., codes=..., public_summary=..., actor=...)``: a request walked along
    the standard path to ``state`` (or approved without review on another route)."""

    def make(state: str = State.CONTRACTING, *, title: str = "Parcours de soins après un AVC",
             codes=("snds", "oscour"), public_summary: str = "", route: str = Route.STANDARD, actor=None):
        actor = actor or personas["applicant"]
        request = services.create_draft(actor=actor, title=title, summary="Étude de cohorte",
                                        datasets=datasets(*codes), route=route)
        if public_summary:
            services.set_public_summary(request_id=request.pk, actor=actor, public_summary=public_summary)
        if state == State.DRAFT:
            return request
        complete_dossier(request, actor)
        if route != Route.STANDARD:
            request = services.submit(request_id=request.pk, actor=actor)
            if state == State.SUBMITTED:
                return request
            request = services.approve_without_review(request_id=request.pk, actor=personas["secretariat"])
            advance_other_holders(request)
            assert request.state == state
            return request
        for reached, service, who, kwargs in _steps(request.requires_matching):
            who_actor = actor if who == "applicant" else personas[who]
            request = service(request_id=request.pk, actor=who_actor, **kwargs)
            if reached == State.CONTRACTING:
                advance_other_holders(request)
            if reached == state:
                break
        assert request.state == state
        return request

    return make
