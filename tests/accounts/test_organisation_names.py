"""Organisation names: one normaliser (accounts.names) for sign-up, the form, the admin and the model;
one organisation per name whatever its case, spacing or invisible characters."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts import services
from accounts.forms import SignUpForm
from accounts.models import MembershipRequest, Organisation
from accounts.names import clean_organisation_name, normalise_organisation_name, organisation_name_key
from hdh_access.lib.errors import InvalidInput
from tests.conftest import PASSWORD

NEW_PASSWORD = "Une-Phrase-De-Passe-Solide-7"


@pytest.mark.parametrize(("raw", "expected"), [
    ("  Inserm   U1018 ", "Inserm U1018"),
    ("Inserm\tU1018\nLille", "Inserm U1018 Lille"),                  # control whitespace becomes a space
    ("Inserm\u00a0U1018", "Inserm U1018"),                            # no-break space
    ("Ins\u200berm\u200d U1018\ufeff", "Inserm U1018"),                # zero-width characters (format, Cf)
    ("\u202eInserm\u202c U1018", "Inserm U1018"),                     # bidi override
    ("Inserm\x00\x07\x1b[31m U1018", "Inserm[31m U1018"),              # NUL, bell, escape (Cc)
    ("Inserm\ue000 U1018", "Inserm U1018"),                           # private use (Co)
    ("Institut Pasteur de Lille\u0301", "Institut Pasteur de Lillé"),  # NFC composes
    ("Cafe\u0301 Médical", "Café Médical"),
])
def test_the_normaliser_keeps_one_canonical_form(raw, expected):
    assert normalise_organisation_name(raw) == expected


def test_names_that_differ_only_by_case_share_a_key():
    assert organisation_name_key("INSERM u1018") == organisation_name_key("inserm  U1018") == "inserm u1018"
    assert organisation_name_key("Straße") == organisation_name_key("STRASSE")  # case-folded, not lower-cased


@pytest.mark.parametrize("raw", ["", "   ", "\u200b\u200b", "\x00\x01"])
def test_a_name_empty_once_normalised_is_refused(raw):
    with pytest.raises(ValidationError) as refused:
        clean_organisation_name(raw)
    assert refused.value.code == "required"


def test_a_name_over_200_characters_is_refused_not_truncated():
    assert clean_organisation_name("a" * 200 + "   ") == "a" * 200
    assert clean_organisation_name("e\u0301" * 200) == "é" * 200  # 400 code points typed, 200 once composed
    for raw in ("a" * 201, "a" * 5000):
        with pytest.raises(ValidationError) as refused:
            clean_organisation_name(raw)
        assert refused.value.code == "max_length"


# --- the sign-up form and service -------------------------------------------------------------------
def _form(organisation: str) -> SignUpForm:
    return SignUpForm({"email": "ada@univ.example", "first_name": "Ada", "last_name": "Lovelace",
                       "organisation": organisation, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD})


@pytest.mark.django_db
def test_the_sign_up_form_normalises_the_name_and_refuses_empty_or_long_ones():
    form = _form("\u202e Équipe\tX \x07")
    assert form.is_valid() and form.cleaned_data["organisation"] == "Équipe X"
    empty = _form("\u200b ")
    assert not empty.is_valid() and "Indiquez le nom de votre organisation." in empty.errors["organisation"]
    long = _form("b" * 201)
    assert not long.is_valid() and "ne doit pas dépasser 200 caractères" in long.errors["organisation"][0]


@pytest.mark.django_db
def test_a_long_name_at_sign_up_is_a_form_error_and_nothing_is_created(client):
    response = client.post(reverse("accounts:signup"), {
        "email": "ada@univ.example", "first_name": "Ada", "last_name": "Lovelace", "organisation": "b" * 201,
        "password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert response.status_code == 400 and "ne doit pas dépasser 200 caractères" in response.content.decode()
    assert not User.objects.exists() and not Organisation.objects.exists()


@pytest.mark.django_db
def test_the_service_refuses_a_name_the_form_would_refuse():
    with pytest.raises(InvalidInput) as refused:
        services.sign_up(email="ada@univ.example", first_name="Ada", last_name="L", password=PASSWORD,
                         organisation_name="\x00\u200b")
    assert refused.value.details == {"field": "organisation"}
    assert not User.objects.exists()


@pytest.mark.django_db
def test_a_name_typed_in_another_case_asks_to_join_the_existing_organisation_and_creates_no_duplicate(applicant):
    outcome = services.sign_up(email="ada@univ.example", first_name="Ada", last_name="L", password=PASSWORD,
                               organisation_name="  inserm\u200b u1018")
    assert Organisation.objects.count() == 1
    assert MembershipRequest.objects.get(user_id=outcome.user_id).organisation.name == "Inserm U1018"


@pytest.mark.django_db
def test_control_characters_never_reach_the_stored_name():
    outcome = services.sign_up(email="ada@univ.example", first_name="Ada", last_name="L", password=PASSWORD,
                               organisation_name="Evil\u202e\x1b[2J Corp")
    assert User.objects.get(pk=outcome.user_id).profile.organisation.name == "Evil[2J Corp"


# --- the model and the admin --------------------------------------------------------------------------
@pytest.mark.django_db
def test_the_model_stores_the_normalised_name_and_its_key_whoever_saves_it():
    organisation = Organisation.objects.create(name=" CHU\u200b de  Lille ")
    organisation.refresh_from_db()
    assert (organisation.name, organisation.name_key) == ("CHU de Lille", "chu de lille")
    organisation.name = "CHU DE LILLE"
    organisation.save(update_fields=["name"])
    organisation.refresh_from_db()
    assert organisation.name_key == "chu de lille"


@pytest.mark.django_db
def test_the_model_clean_refuses_a_case_twin_an_empty_and_a_long_name():
    Organisation.objects.create(name="Inserm U1018")
    for name, message in (("INSERM  u1018", "existe déjà"), ("\u200b", "Indiquez le nom"),
                          ("c" * 201, "200")):
        with pytest.raises(ValidationError) as refused:
            Organisation(name=name).full_clean()
        assert message in str(refused.value.message_dict["name"])


@pytest.mark.django_db
def test_the_admin_saves_a_normalised_name_and_refuses_a_case_twin(client, superuser):
    Organisation.objects.create(name="Inserm U1018")
    client.force_login(superuser)
    url = reverse("admin:accounts_organisation_add")
    twin = client.post(url, {"name": "inserm U1018", "siret": ""})
    assert twin.status_code == 200 and "existe déjà" in twin.content.decode()
    created = client.post(url, {"name": "  Institut\u202e Curie ", "siret": ""})
    assert created.status_code == 302
    assert Organisation.objects.filter(name="Institut Curie", from_sign_up=False).exists()


# --- the migration ------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_the_migration_normalises_existing_names_and_suffixes_case_duplicates():
    """Names written before the normaliser existed (raw SQL here) end up canonical; duplicates stay,
    suffixed, for the secretariat to merge."""
    from importlib import import_module

    migration = import_module("accounts.migrations.0002_organisation_membership")
    first, second, third, blank = (Organisation.objects.create(name=f"placeholder {n}") for n in range(4))
    Organisation.objects.filter(pk=first.pk).update(name="Inserm  U1", name_key="")
    Organisation.objects.filter(pk=second.pk).update(name="Inserm U1", name_key="x")
    Organisation.objects.filter(pk=third.pk).update(name="INSERM\u200b U1", name_key="y")
    Organisation.objects.filter(pk=blank.pk).update(name="\u200b", name_key="z")
    migration.normalise_names(apps, None)
    names = dict(Organisation.objects.values_list("pk", "name"))
    assert names == {first.pk: "Inserm U1", second.pk: "Inserm U1 (doublon 2)", third.pk: "INSERM U1 (doublon 3)",
                     blank.pk: f"Organisation {blank.pk}"}
    assert Organisation.objects.get(pk=third.pk).name_key == "inserm u1 (doublon 3)"
