"""Followers' emails: one per follower and event on a followed dossier, in their language, with a
link to the dossier; never for the follower's own action, never twice when another email of the
same event already reaches them, never to a follower who lost access to the dossier."""

from __future__ import annotations

import pytest

from access_requests import services
from access_requests.workflow import State
from notifications import messages
from notifications.models import OutboxMessage


def follower_rows(event, user) -> list[OutboxMessage]:
    return list(OutboxMessage.objects.filter(key=f"event:{event.pk}:follower:{user.pk}"))


def rows_to(event, user) -> list[OutboxMessage]:
    return list(OutboxMessage.objects.filter(key__startswith=f"event:{event.pk}:", to=user.email))


def test_an_event_by_someone_else_emails_the_follower_once_with_a_link(make_request, personas):
    request = make_request(State.CESREES_REVIEW)
    follower = personas["secretariat"]
    services.follow(request_id=request.pk, actor=follower)

    services.record_cesrees_opinion(request_id=request.pk, actor=personas["cesrees"], opinion="favourable",
                                    comment="Protocole solide.")

    event = request.events.last()
    [row] = rows_to(event, follower)
    assert row.key == f"event:{event.pk}:follower:{follower.pk}"
    assert row.subject == f"{request.reference} (dossier suivi) : passe à l'étape « Autorisation CNIL »"
    lines = row.text.splitlines()
    assert lines[:5] == ["Bonjour,", "", "Du nouveau sur une demande que vous suivez.", "",
                         f"Demande : {request.reference} — Parcours de soins après un AVC"]
    assert "Action : Enregistrer l'avis du CESREES" in lines
    assert "Étape : Avis du CESREES → Autorisation CNIL" in lines
    assert "Protocole solide." in lines
    assert f"Ouvrir la demande : http://127.0.0.1:8000/backoffice/requests/{request.reference}/" in lines
    assert f'href="http://127.0.0.1:8000/backoffice/requests/{request.reference}/"' in row.html
    # The same event handled again (a retried receiver) queues nothing more.
    assert messages.on_transition(request=request, event=event) == []
    assert len(follower_rows(event, follower)) == 1


def test_the_followers_own_action_sends_them_nothing(make_request, personas):
    request = make_request(State.SUBMITTED)
    services.follow(request_id=request.pk, actor=personas["secretariat"])

    services.forward_to_cesrees(request_id=request.pk, actor=personas["secretariat"])

    event = request.events.last()
    assert rows_to(event, personas["secretariat"]) == []
    assert OutboxMessage.objects.filter(key__startswith=f"event:{event.pk}:").exists()  # the others are told


def test_a_follower_already_told_by_the_queue_email_gets_no_second_email(make_request, personas):
    request = make_request(State.CESREES_REVIEW)
    services.follow(request_id=request.pk, actor=personas["cnil"])

    services.record_cesrees_opinion(request_id=request.pk, actor=personas["cesrees"], opinion="favourable")

    event = request.events.last()
    [row] = rows_to(event, personas["cnil"])
    assert row.key == f"event:{event.pk}:queue:{personas['cnil'].pk}"


def test_assignment_extension_and_information_asked_and_answered_reach_the_follower(make_request, personas):
    request = make_request(State.CNIL_REVIEW)
    follower = personas["secretariat"]
    services.follow(request_id=request.pk, actor=follower)
    cnil = personas["cnil"]

    services.assign(request_id=request.pk, actor=cnil, assignee=cnil)
    services.extend_review(request_id=request.pk, actor=cnil, comment="Audition du porteur.")
    services.request_information(request_id=request.pk, actor=cnil, question="Quelle durée de conservation ?")
    services.answer_information(request_id=request.pk, actor=personas["applicant"], answer="Vingt ans.")
    services.assign(request_id=request.pk, actor=cnil, assignee=None)

    assigned, extended, asked, answered, unassigned = request.events.order_by("-at", "-id")[:5][::-1]
    got = {name: follower_rows(event, follower) for name, event in (
        ("assigned", assigned), ("extended", extended), ("asked", asked), ("answered", answered),
        ("unassigned", unassigned))}
    assert {name: len(rows) for name, rows in got.items()} == dict.fromkeys(got, 1)
    ref = request.reference
    assert [rows[0].subject for rows in got.values()] == [
        f"{ref} (dossier suivi) : attribuée à cnil@cnil.example",
        f"{ref} (dossier suivi) : délai d'examen prolongé",
        f"{ref} (dossier suivi) : passe à l'étape « Compléments demandés »",
        f"{ref} (dossier suivi) : passe à l'étape « Autorisation CNIL »",
        f"{ref} (dossier suivi) : n'est plus attribuée",
    ]
    assert "Instructeur : cnil@cnil.example" in got["assigned"][0].text.splitlines()
    assert "Audition du porteur." in got["extended"][0].text
    # The question and the answer are messages of the thread: never quoted in an email.
    assert "Quelle durée de conservation ?" not in got["asked"][0].text
    assert "Vingt ans." not in got["answered"][0].text
    assert "Par : porteur@inserm.example (Inserm U1018)" in got["answered"][0].text.splitlines()
    assert "Instructeur : personne" in got["unassigned"][0].text.splitlines()


@pytest.mark.parametrize("loss", ["deactivated", "role_removed", "holder_changed"])
def test_a_follower_who_lost_access_gets_nothing(make_request, personas, loss):
    request = make_request(State.CONTRACTING)  # SNDS and OSCOUR: the CNAM's
    follower = personas["cnam"]
    services.follow(request_id=request.pk, actor=follower)
    if loss == "deactivated":
        follower.is_active = False
        follower.save()
    elif loss == "role_removed":
        follower.groups.clear()
    else:
        follower.profile.data_holder = personas["curie"].profile.data_holder
        follower.profile.save()

    services.assign(request_id=request.pk, actor=personas["secretariat"], assignee=personas["secretariat"])
    services.record_contract_signed(request_id=request.pk, actor=personas["secretariat"])

    for event in request.events.order_by("-id")[:2]:
        assert rows_to(event, follower) == []


def test_each_follower_reads_the_email_in_their_language(make_request, personas, english):
    request = make_request(State.CNIL_REVIEW)
    english_follower, french_follower = personas["secretariat"], personas["cesrees"]
    english_follower.profile.language = "en"
    english_follower.profile.save()
    for follower in (english_follower, french_follower):
        services.follow(request_id=request.pk, actor=follower)

    services.extend_review(request_id=request.pk, actor=personas["cnil"])

    event = request.events.last()
    [english] = follower_rows(event, english_follower)
    [french] = follower_rows(event, french_follower)
    assert (english.language, english.subject) == ("en", f"{request.reference} (followed dossier): review period extended")
    assert "Something new on a request you follow." in english.text
    assert "Bonjour" not in english.text and "Action : Prolongation" not in english.text
    assert (french.language, french.subject) == ("fr", f"{request.reference} (dossier suivi) : délai d'examen prolongé")
