"""Transactional emails: who hears of what, in which language, written with the change.

Emails go through the outbox (rows written in the transition's transaction) and are sent
after commit by the eager task, here through the real SMTP server of the test process.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction

from access_requests import services
from access_requests.workflow import State
from notifications.models import OutboxMessage, OutboxStatus
from tests.conftest import paris


def subject(message) -> str:
    """The subject as a reader sees it (Django folds long encoded subjects onto a second line)."""
    return " ".join(str(message["Subject"]).split())


def subjects_to(handler, address: str) -> list[str]:
    return [subject(m) for m in handler.to(address)]


def body_of(message, subtype: str) -> str:
    part = message.get_body(preferencelist=(subtype,))
    return part.get_content()


def test_a_transition_writes_its_emails_in_its_own_transaction(make_request, personas):
    request = make_request(State.DRAFT)

    services.submit(request_id=request.pk, actor=personas["applicant"])

    rows = {row.key: row for row in OutboxMessage.objects.all()}
    event = request.events.get(action="submit")
    assert set(rows) == {f"event:{event.pk}:applicant:{personas['applicant'].pk}",
                         f"event:{event.pk}:queue:{personas['secretariat'].pk}"}
    assert {row.status for row in rows.values()} == {OutboxStatus.PENDING}  # sent only after commit


def test_a_transition_rolled_back_leaves_no_email(make_request, personas):
    request = make_request(State.DRAFT)

    with pytest.raises(RuntimeError), transaction.atomic():
        services.submit(request_id=request.pk, actor=personas["applicant"])
        assert OutboxMessage.objects.count() == 2
        raise RuntimeError("the caller's transaction fails after the transition")

    assert not OutboxMessage.objects.exists()


def test_the_applicant_hears_of_every_change_of_state_and_each_queue_of_its_arrival(story, smtp, personas):
    story((paris(2025, 1, 6), "submit"), (paris(2025, 1, 8), "forward"), (paris(2025, 2, 5), "opinion"),
          (paris(2025, 3, 20), "authorise"), (paris(2025, 4, 10), "contract"), (paris(2025, 5, 15), "matched"),
          (paris(2025, 6, 2), "deliver"), (paris(2025, 6, 9), "close"))

    assert subjects_to(smtp, "porteur@inserm.example") == [
        "HDH-2025-0001 : demande déposée",
        "HDH-2025-0001 : dossier complet, transmis au CESREES",
        "HDH-2025-0001 : avis du CESREES rendu, transmission à la CNIL",
        "HDH-2025-0001 : autorisation de la CNIL",
        "HDH-2025-0001 : convention signée, appariement en cours",
        "HDH-2025-0001 : extraction des données en cours",
        "HDH-2025-0001 : données mises à disposition",
        "HDH-2025-0001 : demande clôturée",
    ]
    assert subjects_to(smtp, "secretariat@hdh.example") == [
        "HDH-2025-0001 : à traiter – Déposée (recevabilité)",
        "HDH-2025-0001 : à traiter – Conventionnement",
        "HDH-2025-0001 : à traiter – Données mises à disposition",
    ]
    assert subjects_to(smtp, "cesrees@hdh.example") == ["HDH-2025-0001 : à traiter – Avis du CESREES"]
    assert subjects_to(smtp, "cnil@cnil.example") == ["HDH-2025-0001 : à traiter – Autorisation CNIL"]
    # The data holder is told when contracting starts, not of matching and extraction it started itself.
    assert subjects_to(smtp, "cnam@cnam.example") == ["HDH-2025-0001 : à traiter – Conventionnement"]
    assert subjects_to(smtp, "plateforme@hdh.example") == [
        "HDH-2025-0001 : à traiter – Extraction", "HDH-2025-0001 : à traiter – Données mises à disposition"]
    assert subjects_to(smtp, "curie@curie.example") == []  # a data holder whose datasets are not requested
    assert subjects_to(smtp, "direction@hdh.example") == []  # management reads the weekly report
    assert OutboxMessage.objects.exclude(status=OutboxStatus.SENT).count() == 0
    assert len(smtp.accepted) == OutboxMessage.objects.count() == 8 + 3 + 1 + 1 + 1 + 2


def test_each_email_has_a_text_and_an_html_version_with_the_statutory_dates(story, smtp):
    story((paris(2025, 1, 6), "submit"), (paris(2025, 1, 8), "forward"))

    message = smtp.to("porteur@inserm.example")[-1]
    assert message.get_content_type() == "multipart/alternative"
    text, html = body_of(message, "plain"), body_of(message, "html")
    for body in (text, html):
        assert "HDH-2025-0001" in body and "Parcours de soins après un AVC" in body
        assert "10 février 2025" in body  # 1 month from 8 January, 8 February is a Saturday
        assert "11 février 2025" in body  # the CESREES's silence is a favourable opinion the day after
        assert "http://127.0.0.1:8000/portal/requests/HDH-2025-0001/" in body
    assert "<" not in text and "&#x27;" not in text and "&amp;" not in text
    assert 'href="http://127.0.0.1:8000/portal/requests/HDH-2025-0001/"' in html
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Content-Language"] == "fr"
    reviewer = smtp.to("cesrees@hdh.example")[-1]
    assert "http://127.0.0.1:8000/backoffice/requests/HDH-2025-0001/" in body_of(reviewer, "plain")


def test_an_information_request_and_its_answer_are_emailed_without_their_text(story, smtp):
    story((paris(2025, 1, 6), "submit"), (paris(2025, 1, 7), "ask"), (paris(2025, 1, 9), "answer"))

    asked = smtp.to("porteur@inserm.example")[1]
    assert subject(asked) == "HDH-2025-0001 : des compléments sont demandés"
    # The question and the answer are messages of the thread: the emails link to it, never quote them.
    for part in ("plain", "html"):
        assert "Précisez la finalité du traitement ?" not in body_of(asked, part)
        assert "La question est dans le fil de messages de votre demande" in body_of(asked, part)
    assert "suspendu" in body_of(asked, "plain")
    resumed = smtp.to("porteur@inserm.example")[2]
    assert subject(resumed) == "HDH-2025-0001 : réponse transmise, l'instruction reprend"
    back_in_queue = smtp.to("secretariat@hdh.example")[-1]
    assert subject(back_in_queue) == "HDH-2025-0001 : à traiter – Déposée (recevabilité)"
    assert "Voici les précisions demandées." not in body_of(back_in_queue, "plain")
    assert "Voici les précisions demandées." not in body_of(back_in_queue, "html")


def test_a_refusal_gives_the_reason_and_a_cnil_decision_its_number_and_date(story, smtp):
    story((paris(2025, 1, 6), "submit"), (paris(2025, 1, 7), "reject"))
    story((paris(2025, 1, 6), "submit"), (paris(2025, 1, 8), "forward"), (paris(2025, 2, 5), "opinion"),
          (paris(2025, 3, 20), "authorise"))

    refused, *_rest = [m for m in smtp.to("porteur@inserm.example") if "refusée" in subject(m)]
    assert "Hors du champ de la plateforme" in body_of(refused, "plain")
    authorised = smtp.to("porteur@inserm.example")[-1]
    assert "DR-2025-042" in body_of(authorised, "plain") and "6 janvier 2025" in body_of(authorised, "plain")


def test_an_extension_tells_the_applicant_the_new_due_date(story, smtp):
    story((paris(2025, 1, 6), "submit"), (paris(2025, 1, 8), "forward"), (paris(2025, 1, 20), "extend"))

    extended = smtp.to("porteur@inserm.example")[-1]
    assert subject(extended) == "HDH-2025-0001 : délai d'examen prolongé"
    assert "10 mars 2025" in body_of(extended, "plain")  # 8 January + 2 months, 8 March is a Saturday


def test_each_recipient_reads_the_email_in_their_language(story, smtp, personas, english):
    # English comes from the project's catalogue, locale/en/LC_MESSAGES/django.po (`make compilemessages`).
    profile = personas["applicant"].profile
    profile.language = "en"
    profile.save()

    story((paris(2025, 1, 6), "submit"), (paris(2025, 1, 8), "forward"))

    english_mail = smtp.to("porteur@inserm.example")[-1]
    assert subject(english_mail) == "HDH-2025-0001: complete dossier sent to the CESREES"
    assert english_mail["Content-Language"] == "en"
    assert body_of(english_mail, "plain").splitlines() == [
        "Hello,",
        "",
        "Your dossier is complete: the secretariat has sent it to the CESREES, which gives a scientific and "
        "ethical opinion.",
        "",
        "Request: HDH-2025-0001 — Parcours de soins après un AVC",  # the title is the applicant's, in French
        "Current stage: CESREES review",
        "Statutory due date of the current stage: 10 February 2025.",
        "Without an opinion from the CESREES by then, the opinion is deemed favourable on 11 February 2025.",
        "",
        "Follow your request: http://127.0.0.1:8000/portal/requests/HDH-2025-0001/",
        "",
        "--",
        "Health Data Hub · Access to health data",
        "This message is sent automatically; please do not reply to it.",
    ]
    html = body_of(english_mail, "html")
    assert '<html lang="en">' in html
    assert "<title>HDH-2025-0001: complete dossier sent to the CESREES</title>" in html
    assert ">Complete dossier sent to the CESREES</h1>" in html
    assert "Current stage: <strong>CESREES review</strong>" in html
    assert "Statutory due date of the current stage: <strong>10 February 2025</strong>." in html
    assert ">Follow your request</a>" in html
    assert "Bonjour" not in html and "Échéance" not in html
    french_mail = smtp.to("cesrees@hdh.example")[-1]  # the reviewer kept French
    assert subject(french_mail) == "HDH-2025-0001 : à traiter – Avis du CESREES"
    assert french_mail["Content-Language"] == "fr"
    assert body_of(french_mail, "plain").splitlines()[0] == "Bonjour,"


def test_an_english_information_request_points_to_the_question_and_says_the_clock_is_paused(story, smtp, personas,
                                                                                         english):
    profile = personas["applicant"].profile
    profile.language = "en"
    profile.save()

    story((paris(2025, 1, 6), "submit"), (paris(2025, 1, 8), "forward"), (paris(2025, 1, 9), "ask"))

    asked = smtp.to("porteur@inserm.example")[-1]
    assert subject(asked) == "HDH-2025-0001: further information is requested"
    assert body_of(asked, "plain").splitlines() == [
        "Hello,",
        "",
        "The review of your request (stage “CESREES review”) needs further information from you.",
        "",
        "The question is in your request's message thread (it is not copied into this email).",
        "",
        "The review clock is paused until you answer: this time does not count in the institutions' delay.",
        "",
        "Request: HDH-2025-0001 — Parcours de soins après un AVC",
        "Answer from your space: http://127.0.0.1:8000/portal/requests/HDH-2025-0001/",
        "",
        "--",
        "Health Data Hub · Access to health data",
        "This message is sent automatically; please do not reply to it.",
    ]


def test_a_request_without_an_applicant_account_only_notifies_the_queues(make_request, personas, django_capture_on_commit_callbacks):
    request = make_request(State.SUBMITTED)
    type(request).objects.filter(pk=request.pk).update(applicant=None)  # as imported requests are
    OutboxMessage.objects.all().delete()

    with django_capture_on_commit_callbacks(execute=True):
        services.forward_to_cesrees(request_id=request.pk, actor=personas["secretariat"])

    assert [row.to for row in OutboxMessage.objects.all()] == ["cesrees@hdh.example"]


def test_a_queue_email_reaches_the_new_stage_but_not_who_moved_it_there(make_request, personas):
    secretariat_member = personas["secretariat"]
    secretariat_member.groups.add(*personas["cesrees"].groups.all())  # also in the CESREES group
    request = make_request(State.SUBMITTED)
    OutboxMessage.objects.all().delete()

    services.forward_to_cesrees(request_id=request.pk, actor=secretariat_member)

    queue = [row.to for row in OutboxMessage.objects.filter(key__contains=":queue:")]
    assert queue == ["cesrees@hdh.example"]


def test_the_same_event_never_queues_an_email_twice(make_request, personas):
    from notifications import messages

    request = make_request(State.SUBMITTED)
    event = request.events.get(action="submit")
    before = OutboxMessage.objects.count()

    again = messages.on_transition(request=request, event=event)

    assert again == [] and OutboxMessage.objects.count() == before


def test_dates_in_the_emails_are_paris_dates(story, smtp):
    # 23:30 UTC on 31 January is 1 February in Paris: the completeness clock starts on 1 February.
    story((dt.datetime(2025, 1, 31, 23, 30, tzinfo=dt.UTC), "submit"))

    text = body_of(smtp.to("porteur@inserm.example")[-1], "plain")
    assert "11 février 2025" in text  # 7 working days after Saturday 1 February
