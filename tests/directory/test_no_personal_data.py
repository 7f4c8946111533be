"""No person's name or email, no note, message, comment, attachment or private dossier text ever
reaches a public page or export of the directory."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from access_requests import services
from access_requests.workflow import Route, State
from tests.conftest import SAMPLE_PDF, datasets, make_user

pytestmark = pytest.mark.django_db

SECRETS = (
    "Zéphyrine", "Quintavalle", "zephyrine.quintavalle@secret.example",  # the applicant
    "Barnabé", "Ostrogoth", "barnabe.ostrogoth@secret.example",  # a team member (account)
    "MEMBRE-EQUIPE-Leopoldine",  # the dossier's team members text
    "RESUME-PRIVE-113", "INTERET-PRIVE-114", "METHODO-PRIVEE-115",  # the private dossier texts
    "MESSAGE-SECRET-42", "NOTE-INTERNE-77", "COMMENTAIRE-SECRET-88",  # thread, notes, comments
    "piece-confidentielle", "DR-SECRET-9",  # attachments, the CNIL decision number
    "secretariat@hdh.example", "cnil@hdh.example",  # reviewers
)


@pytest.fixture
def secret_projects(personas, organisation):
    applicant = make_user("zephyrine.quintavalle@secret.example", organisation=organisation,
                          first_name="Zéphyrine", last_name="Quintavalle")
    member = make_user("barnabe.ostrogoth@secret.example", organisation=organisation,
                       first_name="Barnabé", last_name="Ostrogoth")
    made = []
    for route, codes in ((Route.STANDARD, ("snds", "oscour")), (Route.REFERENCE_METHODOLOGY, ("snds",))):
        request = services.create_draft(actor=applicant, title=f"Projet public {route}", datasets=datasets(*codes),
                                        route=route, summary="RESUME-PRIVE-113")
        services.update_draft(request_id=request.pk, actor=member, public_interest="INTERET-PRIVE-114",
                              methodology="METHODO-PRIVEE-115", team_members="MEMBRE-EQUIPE-Leopoldine")
        services.set_public_summary(request_id=request.pk, actor=member, public_summary="Un objectif public.")
        for kind in ("protocol", "data_management_plan"):
            services.add_attachment(request_id=request.pk, actor=applicant, kind=kind, uploaded=SimpleUploadedFile(
                "piece-confidentielle.pdf", SAMPLE_PDF, content_type="application/pdf"))
        services.submit(request_id=request.pk, actor=applicant)
        services.post_message(request_id=request.pk, actor=member, body="MESSAGE-SECRET-42")
        services.post_message(request_id=request.pk, actor=personas["secretariat"], body="NOTE-INTERNE-77",
                              internal=True)
        if route == Route.STANDARD:
            services.forward_to_cesrees(request_id=request.pk, actor=personas["secretariat"],
                                        comment="COMMENTAIRE-SECRET-88")
            services.record_cesrees_opinion(request_id=request.pk, actor=personas["cesrees"], opinion="favourable")
            services.record_cnil_decision(request_id=request.pk, actor=personas["cnil"], authorised=True,
                                          decision_number="DR-SECRET-9", decision_date=dt.date(2025, 3, 1),
                                          comment="COMMENTAIRE-SECRET-88")
        else:
            services.approve_without_review(request_id=request.pk, actor=personas["secretariat"],
                                            comment="COMMENTAIRE-SECRET-88")
        services.set_results_url(request_id=request.pk, actor=applicant, results_url="https://example.org/resultats")
        made.append(request)
    return made


def _body(response) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode("utf-8-sig")
    return response.content.decode()


def test_no_personal_data_on_any_public_page_or_export(client, secret_projects):
    references = [r.reference for r in secret_projects]
    collective = [reverse("directory:list"), reverse("directory:list_en"), reverse("directory:feed"),
                  reverse("directory:csv"), reverse("directory:json"), reverse("directory:list") + "?q=projet"]
    pages = [(reverse(name, args=[reference]), reference) for reference in references
             for name in ("directory:project", "directory:project_en")]
    for url, expected in [(url, references) for url in collective] + [(url, [ref]) for url, ref in pages]:
        response = client.get(url)
        assert response.status_code == 200, url
        body = _body(response)
        assert all(reference in body for reference in expected), url  # the projects are there
        for secret in SECRETS:
            assert secret not in body, (url, secret)


def test_the_portal_preview_shows_nothing_private_in_its_public_part(client, secret_projects):
    from django.template.loader import render_to_string

    from directory.selectors import project_preview

    for request in secret_projects:
        html = render_to_string("directory/_record.html", {"project": project_preview(request.pk)})
        assert "Un objectif public." in html and "https://example.org/resultats" in html
        for secret in SECRETS:
            assert secret not in html, secret


def test_a_request_becomes_public_at_its_decision_only(client, project):
    project(State.CNIL_REVIEW, public_summary="Bientôt public")
    assert "Bientôt public" not in _body(client.get(reverse("directory:json")))
