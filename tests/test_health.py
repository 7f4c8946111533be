import os

import pytest
import redis
from django.test import override_settings
from kombu import Queue

from hdh_access.celery import app
from notifications.models import OutboxMessage, OutboxStatus


@pytest.mark.django_db
def test_home_page_says_what_the_service_is(client):
    response = client.get("/")
    assert response.status_code == 200
    assert "7 mois" in response.content.decode()


TOKEN = "jeton-de-supervision-0123456789-abcdefghijklmnop"
DETAILS = {"status", "database", "broker", "queue_depth", "queues", "outbox_pending", "outbox_failed"}


@pytest.fixture
def healthz_token(settings):
    settings.HDH_HEALTHZ_TOKEN = TOKEN
    return TOKEN


@pytest.fixture
def outbox_rows(db):
    """Two emails waiting and one that kept failing."""
    for n, status in enumerate((OutboxStatus.PENDING, OutboxStatus.PENDING, OutboxStatus.FAILED)):
        OutboxMessage.objects.create(key=f"healthz-{n}", to="a@example.org", subject="s", text="b", status=status)


@pytest.mark.django_db
def test_healthz_tells_an_anonymous_caller_only_whether_the_service_is_up(client, healthz_token, outbox_rows):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
@override_settings(REDIS_URL="redis://127.0.0.1:1/0")
def test_healthz_is_503_with_the_status_alone_when_the_broker_is_unreachable(client):
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable"}


@pytest.mark.django_db
@pytest.mark.parametrize("authorization", [
    "Bearer mauvais-jeton", f"Bearer {TOKEN}x", f"Basic {TOKEN}", TOKEN, "Bearer ", "",
])
def test_healthz_gives_no_details_for_a_wrong_token(client, healthz_token, authorization):
    response = client.get("/healthz", HTTP_AUTHORIZATION=authorization)
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_healthz_accepts_no_token_while_none_is_configured(client, settings):
    settings.HDH_HEALTHZ_TOKEN = ""
    assert client.get("/healthz", HTTP_AUTHORIZATION="Bearer ").json() == {"status": "ok"}
    assert client.get("/healthz", HTTP_AUTHORIZATION="Bearer  ").json() == {"status": "ok"}


@pytest.mark.django_db
def test_healthz_gives_the_details_to_a_monitor_with_the_token(client, healthz_token, outbox_rows, settings):
    response = client.get("/healthz", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    body = response.json()
    assert response.status_code == 200
    assert set(body) == DETAILS
    assert (body["status"], body["database"]) == ("ok", "ok")
    assert body["broker"] == ("ok" if settings.REDIS_URL else "eager")
    assert (body["outbox_pending"], body["outbox_failed"]) == (2, 1)


@pytest.mark.django_db
def test_healthz_gives_the_details_to_staff(client, superuser, outbox_rows):
    client.force_login(superuser)
    body = client.get("/healthz").json()
    assert set(body) == DETAILS
    assert (body["outbox_pending"], body["outbox_failed"]) == (2, 1)


@pytest.mark.django_db
def test_healthz_gives_no_details_to_a_signed_in_user_who_is_not_staff(client, management, applicant):
    for user in (management, applicant):
        client.force_login(user)
        assert client.get("/healthz").json() == {"status": "ok"}


@pytest.mark.django_db
def test_healthz_counts_the_tasks_waiting_in_each_celery_queue(client, healthz_token, settings, monkeypatch):
    """Each depth is the length of the queue's Redis list (queues of this test's own, so that a real
    worker of another test never sees these fake messages); queue_depth is their sum."""
    if not settings.REDIS_URL:
        pytest.fail("REDIS_URL is empty: this test needs a real Redis (make test sets it)")
    emails, reports = f"healthz-test-emails-{os.getpid()}", f"healthz-test-reports-{os.getpid()}"
    monkeypatch.setitem(app.conf, "task_queues", [Queue(emails), Queue(reports)])
    client_redis = redis.Redis.from_url(settings.REDIS_URL)
    client_redis.delete(emails, reports)
    try:
        client_redis.rpush(emails, "one", "two", "three")
        client_redis.rpush(reports, "four")
        body = client.get("/healthz", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").json()
        assert (body["broker"], body["queue_depth"], body["queues"]) == ("ok", 4, {emails: 3, reports: 1})
    finally:
        client_redis.delete(emails, reports)


@pytest.mark.django_db
def test_healthz_says_eager_for_the_queue_when_tasks_run_in_process(client, healthz_token, settings):
    settings.REDIS_URL = ""
    body = client.get("/healthz", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").json()
    assert (body["status"], body["broker"], body["queue_depth"], body["queues"]) == ("ok", "eager", "eager", "eager")


@pytest.mark.django_db
@override_settings(REDIS_URL="redis://127.0.0.1:1/0")
def test_healthz_details_name_the_unreachable_broker(client, healthz_token):
    response = client.get("/healthz", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "ok", "broker": "unavailable",
                               "queue_depth": "unavailable", "queues": "unavailable", "outbox_pending": 0,
                               "outbox_failed": 0}


@pytest.mark.django_db
def test_sign_in_ignores_the_case_of_the_address_and_lands_where_the_user_works(client, applicant, secretariat):
    from tests.conftest import PASSWORD

    response = client.post("/accounts/login/", {"username": "PORTEUR@Inserm.example", "password": PASSWORD}, follow=True)
    assert response.redirect_chain[-1][0] == "/portal/"
    client.post("/accounts/logout/")
    response = client.post("/accounts/login/", {"username": secretariat.email, "password": PASSWORD}, follow=True)
    assert response.redirect_chain[-1][0] == "/backoffice/"


@pytest.mark.django_db
def test_the_same_url_speaks_english_when_the_visitor_chooses_it(client):
    assert "Accès aux données de santé pour la recherche" in client.get("/").content.decode()
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    page = client.get("/").content.decode()
    assert "Access to health data for research" in page
    assert 'lang="en"' in page
