"""The secretariat's page of partnerships and civil-society exchanges (/backoffice/indicators/):
recorded and deleted by the secretariat and administrators only; others refused, nothing written."""

from __future__ import annotations

import pytest
from django.urls import reverse

from delays.models import CivilSocietyExchange, Partnership
from tests.backoffice.helpers import backoffice_settings  # noqa: F401
from tests.conftest import with_form_token

PARTNERSHIP = {"name": "Entrepôt de données du CHU", "partner": "CHU de Bordeaux", "signed_on": "2025-03-04",
               "notes": "Convention cadre"}
EXCHANGE = {"held_on": "2025-05-06", "title": "Rencontre avec France Assos Santé", "kind": "debate",
            "audience": "Associations de patients"}


@pytest.mark.parametrize("who", ["secretariat", "superuser"])
def test_the_secretariat_records_lists_and_deletes_them(client, personas, who):
    client.force_login(personas[who])
    page = client.get(reverse("backoffice:indicator_records"))
    assert page.status_code == 200
    response = client.post(reverse("backoffice:record_partnership"), with_form_token(client, PARTNERSHIP))
    assert response.status_code == 303
    response = client.post(reverse("backoffice:record_exchange"), with_form_token(client, EXCHANGE))
    assert response.status_code == 303
    partnership, exchange = Partnership.objects.get(), CivilSocietyExchange.objects.get()
    assert partnership.recorded_by == personas[who] and exchange.kind == "debate"
    html = client.get(reverse("backoffice:indicator_records")).content.decode()
    assert "Entrepôt de données du CHU" in html and "Rencontre avec France Assos Santé" in html
    client.post(reverse("backoffice:delete_partnership", args=[partnership.pk]), with_form_token(client))
    client.post(reverse("backoffice:delete_exchange", args=[exchange.pk]), with_form_token(client))
    assert not Partnership.objects.exists() and not CivilSocietyExchange.objects.exists()


def test_an_invalid_form_is_shown_again_and_nothing_is_written(client, secretariat):
    client.force_login(secretariat)
    response = client.post(reverse("backoffice:record_partnership"),
                           with_form_token(client, {**PARTNERSHIP, "signed_on": "pas une date"}))
    assert response.status_code == 400
    assert not Partnership.objects.exists()


def test_a_second_post_of_the_same_form_records_once(client, secretariat):
    client.force_login(secretariat)
    data = with_form_token(client, EXCHANGE)
    client.post(reverse("backoffice:record_exchange"), data)
    client.post(reverse("backoffice:record_exchange"), data)
    assert CivilSocietyExchange.objects.count() == 1


@pytest.mark.parametrize("who", ["cesrees", "cnil", "cnam", "platform", "management"])
def test_other_reviewers_are_refused_and_nothing_is_written(client, personas, who, secretariat):
    kept = Partnership.objects.create(name="X", partner="Y", signed_on="2025-01-01", recorded_at="2025-01-01T10:00Z")
    client.force_login(personas[who])
    assert client.get(reverse("backoffice:indicator_records")).status_code == 403
    assert client.post(reverse("backoffice:record_partnership"), with_form_token(client, PARTNERSHIP)).status_code == 403
    assert client.post(reverse("backoffice:record_exchange"), with_form_token(client, EXCHANGE)).status_code == 403
    assert client.post(reverse("backoffice:delete_partnership", args=[kept.pk]),
                       with_form_token(client)).status_code == 403
    assert list(Partnership.objects.all()) == [kept] and not CivilSocietyExchange.objects.exists()


def test_applicants_and_anonymous_visitors_never_reach_it(client, applicant):
    response = client.get(reverse("backoffice:indicator_records"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    client.force_login(applicant)
    assert client.get(reverse("backoffice:indicator_records")).status_code == 403
    assert client.post(reverse("backoffice:record_partnership"), with_form_token(client, PARTNERSHIP)).status_code == 403
    assert not Partnership.objects.exists()


def test_the_list_runs_a_constant_number_of_queries(client, secretariat, django_assert_max_num_queries):
    client.force_login(secretariat)
    for n in range(5):
        client.post(reverse("backoffice:record_partnership"), with_form_token(client, {**PARTNERSHIP, "name": f"P{n}"}))
        client.post(reverse("backoffice:record_exchange"), with_form_token(client, {**EXCHANGE, "title": f"E{n}"}))
    client.get(reverse("backoffice:indicator_records"))
    with django_assert_max_num_queries(12):
        client.get(reverse("backoffice:indicator_records"))


def test_the_admin_records_through_the_service(client, superuser):
    client.force_login(superuser)
    response = client.post(reverse("admin:delays_partnership_add"), PARTNERSHIP)
    assert response.status_code == 302
    assert Partnership.objects.get().recorded_by == superuser
    assert client.get(reverse("admin:delays_civilsocietyexchange_changelist")).status_code == 200
