import pytest

from access_requests.exceptions import InvalidInput
from accounts.models import Organisation
from accounts.services import organisation_for_sign_up
from tests.conftest import make_user


@pytest.mark.django_db
def test_an_organisation_without_members_cannot_be_joined_by_typing_its_name():
    Organisation.objects.create(name="CHU de Nantes")
    with pytest.raises(InvalidInput, match="CHU de Nantes"):
        organisation_for_sign_up(name="CHU de Nantes", email="quelquun@chu-nantes.fr")


@pytest.mark.django_db
def test_a_public_mail_domain_never_vouches_for_membership():
    organisation = Organisation.objects.create(name="Équipe X")
    make_user("membre@gmail.com", organisation=organisation)
    with pytest.raises(InvalidInput):
        organisation_for_sign_up(name="Équipe X", email="intrus@gmail.com")


@pytest.mark.django_db
def test_a_colleague_at_a_member_s_domain_joins_and_a_new_name_creates_an_organisation():
    organisation = Organisation.objects.create(name="Inserm U1")
    make_user("membre@inserm.fr", organisation=organisation)
    assert organisation_for_sign_up(name="Inserm U1", email="collegue@inserm.fr") == organisation
    assert organisation_for_sign_up(name="Nouvelle équipe", email="x@univ.fr") is None
