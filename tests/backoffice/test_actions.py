"""Acting on a request: each action's effect, and bad input refused with a clear message, nothing written."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from access_requests import services
from access_requests.models import AccessRequest, Event, Message
from access_requests.workflow import Role, State
from tests.backoffice.helpers import backoffice_settings, materialise_all  # noqa: F401  (autouse)
from tests.conftest import datasets, make_user, with_form_token


def act(client, request, action, expected_state=None, **data):
    state = expected_state if expected_state is not None else AccessRequest.objects.get(pk=request.pk).state
    return client.post(reverse("backoffice:act", args=[request.reference, action]),
                       with_form_token(client, {"expected_state": state, **data}))


def snapshot(request) -> tuple:
    fresh = AccessRequest.objects.get(pk=request.pk)
    return (fresh.state, fresh.updated_at, fresh.assignee_id, Event.objects.filter(request=request).count(),
            Message.objects.filter(request=request).count())


# --- what each action does ----------------------------------------------------------------------
def test_asking_for_information_pauses_the_clock_and_the_page_shows_the_question(client, personas, make_request):
    request = make_request(State.SUBMITTED)
    client.force_login(personas["secretariat"])
    response = act(client, request, "request_information", question="Joignez le protocole signé.", reason="incomplete")
    assert response.status_code == 303
    assert response["Location"] == reverse("backoffice:detail", args=[request.reference])
    request.refresh_from_db()
    assert (request.state, request.paused_from) == (State.AWAITING_APPLICANT, State.SUBMITTED)
    event = request.events.last()
    assert (event.action, event.actor, event.role, event.payload) == (
        "request_information", personas["secretariat"], Role.SECRETARIAT,
        {"question": "Joignez le protocole signé.", "reason": "incomplete"})
    materialise_all()
    page = client.get(response["Location"]).content.decode()
    assert "Joignez le protocole signé." in page
    assert "Horloge suspendue" in page
    assert "c&#x27;est enregistré" in page or "c'est enregistré" in page


def test_a_cesrees_opinion_other_than_favourable_needs_its_reasons(client, personas, make_request):
    request = make_request(State.CESREES_REVIEW)
    client.force_login(personas["cesrees"])
    before = snapshot(request)
    response = act(client, request, "record_cesrees_opinion", opinion="reserved")
    assert response.status_code == 400
    assert "Précisez les recommandations" in response.content.decode()
    assert snapshot(request) == before
    response = act(client, request, "record_cesrees_opinion", opinion="reserved", comment="Finalité à préciser.")
    assert response.status_code == 303
    request.refresh_from_db()
    assert (request.state, request.cesrees_opinion) == (State.CNIL_REVIEW, "reserved")


def test_the_cnil_records_an_authorisation_with_its_number_and_date(client, personas, make_request):
    request = make_request(State.CNIL_REVIEW)
    client.force_login(personas["cnil"])
    response = act(client, request, "record_cnil_decision", decision="authorised", decision_number="DR-2025-118",
                   decision_date="2025-03-14")
    assert response.status_code == 303
    request.refresh_from_db()
    assert (request.state, request.cnil_decision_number, request.cnil_decision_date) == (
        State.CONTRACTING, "DR-2025-118", dt.date(2025, 3, 14))


def test_a_cnil_refusal_ends_the_request_and_keeps_the_decision(client, personas, make_request):
    request = make_request(State.CNIL_REVIEW)
    client.force_login(personas["cnil"])
    response = act(client, request, "record_cnil_decision", decision="refused", decision_number="DR-2025-119",
                   decision_date="2025-03-14", comment="Finalité non démontrée.")
    assert response.status_code == 303
    request.refresh_from_db()
    assert request.state == State.REJECTED
    assert request.events.last().payload == {"authorised": False, "decision_number": "DR-2025-119",
                                             "decision_date": "2025-03-14"}


def test_a_review_period_is_extended_once_and_the_due_date_moves(client, personas, make_request):
    request = make_request(State.CESREES_REVIEW)
    materialise_all()
    client.force_login(personas["cesrees"])
    due_before = request.delay.current_due_date
    assert act(client, request, "extend_review", comment="Expertise externe").status_code == 303
    materialise_all()
    request.refresh_from_db()
    assert request.cesrees_extended
    assert request.delay.current_due_date > due_before + dt.timedelta(days=27)
    page = client.get(reverse("backoffice:detail", args=[request.reference])).content.decode()
    assert "/act/extend_review/" not in page
    before = snapshot(request)
    response = act(client, request, "extend_review")
    assert response.status_code == 400
    assert "déjà été prolongé une fois" in response.content.decode()
    assert snapshot(request) == before


def test_the_data_holder_signs_matches_and_delivers(client, personas, make_request):
    request = make_request(State.CONTRACTING)
    client.force_login(personas["cnam"])
    for action, state in (("record_contract_signed", State.MATCHING), ("record_matching_done", State.EXTRACTION),
                          ("deliver", State.DELIVERED)):
        assert act(client, request, action).status_code == 303
        assert AccessRequest.objects.get(pk=request.pk).state == state


def test_a_contract_without_matching_goes_straight_to_extraction(client, personas, make_request):
    request = make_request(State.CONTRACTING, codes=("snds",))
    client.force_login(personas["cnam"])
    assert act(client, request, "record_contract_signed").status_code == 303
    assert AccessRequest.objects.get(pk=request.pk).state == State.EXTRACTION


# --- bad input ----------------------------------------------------------------------------------
def test_a_decision_on_a_request_no_longer_in_that_stage_is_refused_and_writes_nothing(client, personas,
                                                                                       make_request):
    request = make_request(State.CNIL_REVIEW)
    services.record_cnil_decision(request_id=request.pk, actor=personas["superuser"], authorised=True,
                                  decision_number="DR-1", decision_date=dt.date(2025, 1, 3))
    client.force_login(personas["cnil"])
    before = snapshot(request)
    response = act(client, request, "record_cnil_decision", expected_state=State.CNIL_REVIEW, decision="refused",
                   decision_number="DR-2", decision_date="2025-01-04")
    assert response.status_code == 409
    html = response.content.decode()
    assert "est passée de « Autorisation CNIL » à « Conventionnement » entre-temps" in html
    assert 'role="alert"' in html
    assert snapshot(request) == before


def test_the_second_of_two_reviewers_acting_on_the_same_state_gets_a_clear_conflict(client, personas, make_request):
    request = make_request(State.SUBMITTED)
    colleague = make_user("secretariat2@hdh.example", role=Role.SECRETARIAT)
    first, second = Client(), Client()
    first.force_login(personas["secretariat"])
    second.force_login(colleague)
    assert act(first, request, "forward_to_cesrees", expected_state=State.SUBMITTED).status_code == 303
    before = snapshot(request)
    response = act(second, request, "request_information", expected_state=State.SUBMITTED, question="Protocole ?",
                   reason="incomplete")
    assert response.status_code == 409
    assert "entre-temps" in response.content.decode()
    assert snapshot(request) == before


@pytest.mark.parametrize(("action", "data", "status", "message"), [
    ("forward_to_cesrees", {}, 400, "rechargez la page"),  # no expected_state
    ("forward_to_cesrees", {"expected_state": "nowhere"}, 400, "rechargez la page"),
    ("record_cesrees_opinion", {"expected_state": State.SUBMITTED, "opinion": "tacit"}, 400, "erreurs"),
    ("request_information", {"expected_state": State.SUBMITTED, "question": "   "}, 400, "erreurs"),
    ("record_cesrees_opinion", {"expected_state": State.SUBMITTED, "opinion": "favourable"}, 409,
     "passage impossible"),
    ("approve_without_review", {"expected_state": State.SUBMITTED}, 409, "Seules les procédures MR"),
    ("record_matching_done", {"expected_state": State.SUBMITTED}, 409, "passage impossible"),
])
def test_a_forged_form_gets_a_clear_message_never_a_500_and_writes_nothing(client, personas, make_request, action,
                                                                           data, status, message):
    request = make_request(State.SUBMITTED)
    client.force_login(personas["superuser"])
    before = snapshot(request)
    response = client.post(reverse("backoffice:act", args=[request.reference, action]), with_form_token(client, data))
    assert response.status_code == status
    assert message in response.content.decode()
    assert snapshot(request) == before


def test_a_cnil_refusal_cannot_be_forged_as_a_plain_rejection(client, personas, make_request):
    request = make_request(State.CNIL_REVIEW)
    client.force_login(personas["cnil"])
    before = snapshot(request)
    response = act(client, request, "reject", reason="Refus")
    assert response.status_code == 409
    # The workflow's own reason (action_refusal), the same text the service gives everywhere.
    assert "s'enregistre avec sa décision" in response.content.decode().replace("&#x27;", "'")
    assert snapshot(request) == before


def test_unknown_actions_requests_and_methods_are_404_or_405(client, personas, make_request):
    request = make_request(State.SUBMITTED)
    client.force_login(personas["secretariat"])
    assert client.post(f"/backoffice/requests/{request.reference}/act/drop_table/",
                       with_form_token(client)).status_code == 404
    assert client.post("/backoffice/requests/HDH-1999-9999/act/reject/", with_form_token(client)).status_code == 404
    assert client.get(f"/backoffice/requests/{request.reference}/act/reject/").status_code == 405
    draft = make_request(State.DRAFT)
    assert client.get(reverse("backoffice:detail", args=[draft.reference])).status_code == 404


def test_a_post_without_the_csrf_token_is_refused_and_writes_nothing(personas, make_request):
    request = make_request(State.SUBMITTED)
    client = Client(enforce_csrf_checks=True)
    client.force_login(personas["secretariat"])
    before = snapshot(request)
    assert act(client, request, "reject", reason="Hors champ").status_code == 403
    assert snapshot(request) == before


def test_assignment_accepts_only_colleagues_who_can_act_on_the_stage(client, personas, make_request):
    request = make_request(State.SUBMITTED)
    colleague = make_user("secretariat2@hdh.example", role=Role.SECRETARIAT, first_name="Léa", last_name="Blanc")
    client.force_login(personas["secretariat"])
    page = client.get(reverse("backoffice:detail", args=[request.reference]))
    candidates = list(page.context["assign_form"].fields["assignee"].queryset)
    assert set(candidates) == {personas["secretariat"], colleague}
    before = snapshot(request)
    for forged in (personas["applicant"].pk, personas["cesrees"].pk, 999999, "x"):
        response = client.post(reverse("backoffice:assign", args=[request.reference]), with_form_token(client, {"assignee": forged}))
        assert response.status_code == 400
        assert snapshot(request) == before
    response = client.post(reverse("backoffice:assign", args=[request.reference]), with_form_token(client, {"assignee": colleague.pk}))
    assert response.status_code == 303
    assert AccessRequest.objects.get(pk=request.pk).assignee == colleague
    assert "Léa Blanc" in client.get(reverse("backoffice:queue")).content.decode()


def test_the_team_is_read_once_for_the_select_and_the_assign_to_me_button(client, personas, make_request):
    request = make_request(State.SUBMITTED)
    client.force_login(personas["secretariat"])
    with CaptureQueriesContext(connection) as page_queries:
        page = client.get(reverse("backoffice:detail", args=[request.reference]))
    html = page.content.decode()
    assert "M'attribuer" in html and f'value="{personas["secretariat"].pk}"' in html
    team = [q["sql"] for q in page_queries.captured_queries if "act_as_secretariat" in q["sql"]]
    assert len(team) == 1, team
    # Someone outside the stage's team sees the select, not the button.
    client.force_login(personas["cesrees"])
    assert "M'attribuer" not in client.get(reverse("backoffice:detail", args=[request.reference])).content.decode()


def test_internal_notes_are_kept_and_an_empty_note_is_refused(client, personas, make_request):
    request = make_request(State.CESREES_REVIEW)
    client.force_login(personas["cesrees"])
    before = snapshot(request)
    notes = reverse("backoffice:post_message", args=[request.reference])
    response = client.post(notes, with_form_token(client, {"body": "  ", "internal": "on"}))
    assert response.status_code == 400
    assert snapshot(request) == before
    response = client.post(notes, with_form_token(client, {"body": "Rapporteur : Pr Morel.", "internal": "on"}))
    assert response.status_code == 303
    note = Message.objects.get(request=request)
    assert (note.author, note.body, note.internal, note.role) == (personas["cesrees"], "Rapporteur : Pr Morel.",
                                                                   True, "cesrees")
    client.force_login(personas["management"])
    assert "Rapporteur : Pr Morel." in client.get(reverse("backoffice:detail", args=[request.reference])).content.decode()


def test_the_request_page_shows_the_dossier_timeline_and_statutory_clocks(client, personas, make_request):
    request = make_request(State.CNIL_REVIEW)
    materialise_all()
    client.force_login(personas["management"])
    response = client.get(reverse("backoffice:detail", args=[request.reference]))
    html = response.content.decode()
    assert response.status_code == 200
    timeline = response.context["timeline"]
    assert [v["code"] for v in timeline] == [State.SUBMITTED, State.CESREES_REVIEW, State.CNIL_REVIEW]
    assert all(v["due_date"] for v in timeline)
    assert timeline[-1]["tacit_decision"] == "authorisation"  # the CESREES opinion was expressly favourable
    assert response.context["clock"]["badge"] == "on_time"
    for text in ("Étude de cohorte", "SNDS base principale", "Avis du CESREES", "Favorable", "Historique",
                 "Consultation seule", "Objectif de 7 mois"):
        assert text in html
    assert "<form method=\"post\" action=\"/backoffice/requests/" not in html  # management: no form at all


def test_a_reviewer_downloads_an_attachment_with_safe_headers(client, personas, settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    applicant = personas["applicant"]
    draft = services.create_draft(actor=applicant, title="Protocole", datasets=datasets("snds"))
    attachment = services.add_attachment(request_id=draft.pk, actor=applicant, kind="protocol", uploaded=SimpleUploadedFile(
        "Protocole v2 (final).pdf", b"%PDF-1.7\n% contenu\n", content_type="application/pdf"))
    services.submit(request_id=draft.pk, actor=applicant)
    client.force_login(personas["cesrees"])
    page = client.get(reverse("backoffice:detail", args=[draft.reference])).content.decode()
    assert reverse("backoffice:attachment", args=[attachment.pk]) in page
    response = client.get(reverse("backoffice:attachment", args=[attachment.pk]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"%PDF-1.7\n% contenu\n"
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert client.get(reverse("backoffice:attachment", args=[attachment.pk + 1000])).status_code == 404


@pytest.mark.postgres  # row locks are a PostgreSQL behaviour
@pytest.mark.django_db(transaction=True)
def test_two_reviewers_posting_at_the_same_instant_on_postgresql_one_wins_the_other_is_told(personas, make_request):
    request = make_request(State.SUBMITTED)
    colleague = make_user("secretariat2@hdh.example", role=Role.SECRETARIAT)
    clients = [Client(), Client()]
    clients[0].force_login(personas["secretariat"])
    clients[1].force_login(colleague)
    barrier = threading.Barrier(2)
    statuses = []

    def post(client, action, data):
        try:
            barrier.wait()
            statuses.append(act(client, request, action, expected_state=State.SUBMITTED, **data).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=(clients[0], "forward_to_cesrees", {})),
               threading.Thread(target=post, args=(clients[1], "reject", {"reason": "Hors champ"}))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [303, 409]
    request.refresh_from_db()
    assert request.state in (State.CESREES_REVIEW, State.REJECTED)
    assert Event.objects.filter(request=request, from_state=State.SUBMITTED).count() == 1


def test_right_after_an_action_the_page_shows_the_new_stages_clock_before_the_recompute(client, personas,
                                                                                        make_request):
    with time_machine.travel(dt.datetime(2027, 2, 22, 9, 0, tzinfo=dt.UTC), tick=False):
        request = make_request(State.SUBMITTED)
        materialise_all()
    with time_machine.travel(dt.datetime(2027, 3, 1, 9, 0, tzinfo=dt.UTC), tick=False):
        services.forward_to_cesrees(request_id=request.pk, actor=personas["secretariat"])  # no recompute yet
        client.force_login(personas["secretariat"])
        html = client.get(reverse("backoffice:detail", args=[request.reference])).content.decode()
    # From the events: the CESREES month runs from 1 March 2027 to 1 April.
    assert "Échéance légale : 1 avril 2027" in html
    assert "avis favorable" in html
