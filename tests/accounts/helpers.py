"""Helpers of the account tests: sign up and confirm through the services."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts import services
from accounts.models import MembershipRequest
from tests.conftest import PASSWORD

SITE = "https://hdh.example"


def sign_up(email: str, organisation: str, **extra) -> services.SignUpOutcome:
    return services.sign_up(email=email, first_name=extra.pop("first_name", "Ada"), last_name="Lovelace",
                            password=PASSWORD, organisation_name=organisation, **extra)


def confirm(user_id: int) -> User:
    user = User.objects.get(pk=user_id)
    return services.confirm_email(uidb64=urlsafe_base64_encode(force_bytes(user.pk)),
                                  token=services.email_confirmation_token.make_token(user))


def ask_to_join(email: str, organisation: str) -> MembershipRequest:
    """A newcomer who signed up naming an existing ``organisation`` and confirmed their address."""
    confirm(sign_up(email, organisation).user_id)
    return MembershipRequest.objects.get(user__username=email)
