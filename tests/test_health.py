import pytest
from django.test import override_settings


@pytest.mark.django_db
def test_home_page_says_what_the_service_is(client):
    response = client.get("/")
    assert response.status_code == 200
    assert "7 mois" in response.content.decode()


@pytest.mark.django_db
def test_healthz_reports_database_and_broker(client, settings):
    response = client.get("/healthz")
    body = response.json()
    assert body["database"] == "ok"
    expected_broker = "ok" if settings.REDIS_URL else "eager"
    assert body["broker"] == expected_broker
    assert body["outbox_failed"] == 0
    assert response.status_code == 200


@pytest.mark.django_db
@override_settings(REDIS_URL="redis://127.0.0.1:1/0")
def test_healthz_is_503_when_the_broker_is_unreachable(client):
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "ok", "broker": "unavailable", "outbox_failed": 0}


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
