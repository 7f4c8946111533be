"""The Django admin the service's administrators use: the outbox, and read-only requests."""

from __future__ import annotations

import pytest
from django.urls import reverse

from access_requests.workflow import State
from notifications import outbox as outbox_service
from notifications.models import OutboxMessage, OutboxStatus

RENDERED = outbox_service.Rendered(subject="HDH-2025-0001 : demande déposée", text="Bonjour,\n", html="<p>Bonjour</p>")


@pytest.fixture
def admin_client(client, superuser):
    client.force_login(superuser)
    return client


@pytest.fixture
def outbox(db):
    failed, _ = outbox_service.queue(key="test:failed", to="cnil@cnil.example", language="fr", rendered=RENDERED)
    sent, _ = outbox_service.queue(key="test:sent", to="porteur@inserm.example", language="fr", rendered=RENDERED)
    OutboxMessage.objects.filter(pk=failed.pk).update(status=OutboxStatus.FAILED, attempts=10,
                                                      last_error="permanent: SMTPDataError: (550, b'Mailbox unavailable')")
    OutboxMessage.objects.filter(pk=sent.pk).update(status=OutboxStatus.SENT, attempts=1)
    return {"failed": failed, "sent": sent}


def test_failed_emails_are_listed_with_their_error_and_filters(admin_client, outbox):
    url = reverse("admin:notifications_outboxmessage_changelist")

    page = admin_client.get(url, {"status__exact": "failed"})

    assert page.status_code == 200
    html = page.content.decode()
    assert "cnil@cnil.example" in html and "porteur@inserm.example" not in html
    assert "Mailbox unavailable" in html
    assert "?status__exact=pending" in html and "language=fr" in html  # the filters
    detail = admin_client.get(reverse("admin:notifications_outboxmessage_change", args=[outbox["failed"].pk]))
    assert detail.status_code == 200 and "Bonjour," in detail.content.decode()
    assert 'name="_save"' not in detail.content.decode()  # read-only


def test_the_retry_action_sends_a_failed_email_again_through_the_service(
        admin_client, outbox, smtp, django_capture_on_commit_callbacks):
    url = reverse("admin:notifications_outboxmessage_changelist")

    with django_capture_on_commit_callbacks(execute=True):
        page = admin_client.post(url, {"action": "retry", "_selected_action": [outbox["failed"].pk, outbox["sent"].pk]},
                                 follow=True)

    messages = [str(m) for m in page.context["messages"]]
    assert "1 courriel remis en file d'envoi." in messages
    assert "1 courriel ignoré : déjà envoyé ou en cours d'envoi." in messages
    assert OutboxMessage.objects.get(pk=outbox["failed"].pk).status == OutboxStatus.SENT
    assert [m["To"] for m in smtp.accepted] == ["cnil@cnil.example"]  # the sent one is not sent again


def test_requests_and_events_are_read_only_in_the_admin(admin_client, make_request):
    request = make_request(State.SUBMITTED)

    assert admin_client.get(reverse("admin:access_requests_accessrequest_changelist")).status_code == 200
    change = admin_client.get(reverse("admin:access_requests_accessrequest_change", args=[request.pk]))
    assert change.status_code == 200 and request.reference in change.content.decode()
    assert 'name="_save"' not in change.content.decode()
    assert admin_client.get(reverse("admin:access_requests_accessrequest_add")).status_code == 403
    assert admin_client.get(reverse("admin:access_requests_event_changelist")).status_code == 200
    event = request.events.first()
    assert admin_client.post(reverse("admin:access_requests_event_delete", args=[event.pk])).status_code == 403


def test_profiles_can_be_switched_to_the_weekly_report_by_an_administrator(admin_client, management):
    profile = management.profile
    url = reverse("admin:accounts_profile_change", args=[profile.pk])

    response = admin_client.post(url, {"organisation": "", "data_holder": "", "language": "en", "weekly_report": "on"})

    assert response.status_code == 302
    profile.refresh_from_db()
    assert profile.weekly_report and profile.language == "en"


def test_staff_without_the_permission_cannot_see_the_outbox(client, secretariat, outbox):
    secretariat.is_staff = True
    secretariat.save()
    client.force_login(secretariat)

    assert client.get(reverse("admin:notifications_outboxmessage_changelist")).status_code == 403
