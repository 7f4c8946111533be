"""Account writes: sign-up with email confirmation, and the user's profile.

Sign-up never reveals whether an address already has an account: the page that follows is the
same, and the mail that goes out says either "confirm your address" (new or still unconfirmed
account) or "you already have an account" (confirmed one). Mail is sent after commit through
Django's mail backend (console or file in development, locmem in tests, SMTP in production).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import translation
from django.utils.encoding import force_bytes, force_str
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode
from django.utils.translation import gettext as _

from access_requests.roles import sees_every_request
from accounts.models import Organisation, Profile
from accounts.signals import account_email
from hdh_access.lib.errors import ActionNotPermitted, InvalidInput

logger = logging.getLogger(__name__)

LANGUAGE_CODES = {code for code, _name in settings.LANGUAGES}


# --- mail --------------------------------------------------------------------------------------
def _send_on_commit(template: str, *, to: str, language: str, context: dict, user_id: int | None = None) -> None:
    """Queue ``accounts/emails/<template>`` for ``to`` through the outbox, in this transaction
    (the receiver in notifications renders it and writes the row; the sweep sends it after commit)."""
    key = f"account:{template}:{user_id or '-'}:{uuid.uuid4().hex}"
    account_email.send(sender=None, key=key, to=to, language=language, template=template, context=context)


def send_password_reset(*, to: str, context: dict) -> None:
    """The password-reset email of Django's PasswordResetForm, through the outbox."""
    user = context.get("user")
    _send_on_commit("password_reset", to=to, language=translation.get_language() or settings.LANGUAGE_CODE,
                    context=context, user_id=getattr(user, "pk", None))


class EmailConfirmationTokenGenerator(PasswordResetTokenGenerator):
    """Tokens of the e-mail confirmation link, apart from the password-reset ones: their own key
    salt, so a password-reset token is refused at the confirmation URL and the reverse (a reset
    token must never log a user in without a password). The state hashed includes ``is_active``:
    once confirmed, the link no longer works."""

    key_salt = "hdh_access.accounts.EmailConfirmationTokenGenerator"

    def _make_hash_value(self, user, timestamp: int) -> str:
        return f"{super()._make_hash_value(user, timestamp)}{int(user.is_active)}"


email_confirmation_token = EmailConfirmationTokenGenerator()


def confirmation_path(user) -> str:
    uidb64 = urlsafe_base64_encode(force_bytes(user.pk))
    token = email_confirmation_token.make_token(user)
    return reverse("accounts:confirm", kwargs={"uidb64": uidb64, "token": token})


# --- sign-up -----------------------------------------------------------------------------------
def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def _domain(email: str) -> str:
    return email.rsplit("@", 1)[-1].lower() if "@" in email else ""


PUBLIC_MAIL_DOMAINS = frozenset({
    "gmail.com", "googlemail.com", "yahoo.com", "yahoo.fr", "hotmail.com", "hotmail.fr", "outlook.com",
    "outlook.fr", "live.com", "live.fr", "msn.com", "icloud.com", "me.com", "orange.fr", "wanadoo.fr", "free.fr",
    "sfr.fr", "neuf.fr", "laposte.net", "bbox.fr", "gmx.fr", "gmx.com", "proton.me", "protonmail.com", "aol.com",
})


def organisation_for_sign_up(*, name: str, email: str) -> Organisation | None:
    """The existing organisation called exactly ``name``, or None to create it.

    Joining an organisation gives access to all its dossiers, so an existing organisation
    with members is only joined from an address at one of its members' mail domains.
    """
    name = " ".join((name or "").split())
    if not name:
        raise InvalidInput(_("Indiquez le nom de votre organisation."), field="organisation")
    organisation = Organisation.objects.filter(name=name).first()
    if organisation is None or not getattr(settings, "HDH_SIGNUP_JOIN_REQUIRES_SAME_DOMAIN", True):
        return organisation
    domains = {_domain(address) for address in organisation.members.values_list("user__email", flat=True)}
    # A public mail provider's domain says nothing of who works where.
    domains -= PUBLIC_MAIL_DOMAINS | {""}
    # No member to vouch for the address (an organisation created by an administrator or an
    # import, or whose members use public mail): an administrator adds people instead.
    if not domains or _domain(email) not in domains:
        raise InvalidInput(_(
            "L'organisation « %(name)s » existe déjà. Pour la rejoindre, inscrivez-vous avec une adresse "
            "électronique de cette organisation, ou demandez à un collègue déjà inscrit de vous y ajouter."
        ) % {"name": name}, field="organisation")
    return organisation


def sign_up_refusal(*, organisation_name: str, email: str) -> tuple[str, str] | None:
    """(field, message) if ``sign_up`` would refuse these details, else None: the sign-up form
    shows it on the field before anything is written (the same rule, asked early)."""
    if not normalise_email(email) or "@" not in email:
        return "email", str(_("Indiquez une adresse électronique valide."))
    try:
        organisation_for_sign_up(name=organisation_name, email=normalise_email(email))
    except InvalidInput as refusal:
        return refusal.details.get("field", "organisation"), refusal.message
    return None


@dataclass(frozen=True)
class SignUpOutcome:
    """What happened, for tests and logs; the user-facing page is the same in every case."""

    user_id: int
    created: bool


def sign_up(*, email: str, first_name: str, last_name: str, password: str, organisation_name: str,
            site_url: str, language: str = "fr") -> SignUpOutcome:
    """Create an inactive account in an organisation and send its confirmation link.

    ``site_url`` (scheme and host, no trailing slash) prefixes the link. An address that
    already has an account gets a mail instead, and nothing about the account changes.
    """
    User = get_user_model()
    email = normalise_email(email)
    language = language if language in LANGUAGE_CODES else settings.LANGUAGE_CODE
    if not email or "@" not in email:
        raise InvalidInput(_("Indiquez une adresse électronique valide."), field="email")
    with transaction.atomic():
        # The organisation is checked first, so that its refusal cannot tell whether the
        # address already has an account.
        organisation = organisation_for_sign_up(name=organisation_name, email=email)
        existing = User.objects.filter(username__iexact=email).first() or User.objects.filter(email__iexact=email).first()
        if existing is not None:
            _tell_existing(existing, site_url=site_url, language=language)
            return SignUpOutcome(user_id=existing.pk, created=False)
        if organisation is None:
            try:
                with transaction.atomic():
                    organisation = Organisation.objects.create(name=" ".join(organisation_name.split()))
            except IntegrityError:  # created by someone else in between
                organisation = organisation_for_sign_up(name=organisation_name, email=email)
        user = User(username=email, email=email, first_name=(first_name or "").strip()[:150],
                    last_name=(last_name or "").strip()[:150], is_active=False)
        user.set_password(password)
        try:
            with transaction.atomic():
                user.save()
        except IntegrityError:  # the same address signed up at the same instant
            return SignUpOutcome(user_id=User.objects.get(username=email).pk, created=False)
        Profile.objects.create(user=user, organisation=organisation, language=language)
        _send_on_commit("confirm", to=email, language=language, user_id=user.pk, context={
            "user": user, "organisation": organisation, "link": site_url + confirmation_path(user)})
    logger.info("sign-up: account %s created, confirmation sent", user.pk)
    return SignUpOutcome(user_id=user.pk, created=True)


def _tell_existing(user, *, site_url: str, language: str) -> None:
    if not user.is_active and user.last_login is None:
        # Signed up but never confirmed: send a fresh link (password and name unchanged).
        _send_on_commit("confirm", to=user.email, language=language, user_id=user.pk, context={
            "user": user, "organisation": getattr(getattr(user, "profile", None), "organisation", None),
            "link": site_url + confirmation_path(user)})
        return
    # A confirmed (or deactivated) account: say so, point to sign-in and password reset.
    _send_on_commit("already_registered", to=user.email, language=language, user_id=user.pk, context={
        "user": user, "login_link": site_url + reverse("login"),
        "reset_link": site_url + reverse("accounts:password_reset")})


def user_from_link(uidb64: str, token: str):
    """The inactive-or-active user a confirmation link designates, if its token is valid; else None."""
    User = get_user_model()
    try:
        user = User.objects.get(pk=force_str(urlsafe_base64_decode(uidb64)))
    except (TypeError, ValueError, OverflowError, User.DoesNotExist):
        return None
    return user if email_confirmation_token.check_token(user, token) else None


def confirm_email(*, uidb64: str, token: str):
    """Activate the account of a valid confirmation link; InvalidInput otherwise."""
    with transaction.atomic():
        user = user_from_link(uidb64, token)
        if user is None:
            raise InvalidInput(_("Ce lien de confirmation est invalide ou a expiré. Inscrivez-vous de nouveau pour "
                                 "en recevoir un autre."))
        if user.last_login is not None and not user.is_active:
            # Deactivated by an administrator after having signed in: a link never re-opens it.
            raise ActionNotPermitted(_("Ce compte a été désactivé. Contactez le Health Data Hub."))
        if not user.is_active:
            user.is_active = True
            user.save(update_fields=["is_active"])
            logger.info("sign-up: account %s confirmed", user.pk)
    return user


# --- profile -----------------------------------------------------------------------------------
def can_subscribe_to_weekly_report(user) -> bool:
    """The report lists every organisation's requests: only for those who may read them all
    (management, reviewers; not data-holder staff, who see their own datasets only)."""
    return bool(user.is_authenticated and user.has_perm("access_requests.view_all_requests")
                and sees_every_request(user))


def update_profile(*, actor, language: str, weekly_report: bool | None = None) -> Profile:
    """Set the user's language and, for reviewers and management, the weekly report subscription."""
    if actor is None or not actor.is_authenticated:
        raise ActionNotPermitted(_("Connectez-vous pour modifier votre profil."))
    if language not in LANGUAGE_CODES:
        raise InvalidInput(_("Langue inconnue : %(language)s.") % {"language": language})
    if weekly_report is not None and not can_subscribe_to_weekly_report(actor):
        raise ActionNotPermitted(_("Le rapport hebdomadaire est réservé aux instructeurs et à la direction."))
    with transaction.atomic():
        profile, _created = Profile.objects.select_for_update().get_or_create(user=actor)
        profile.language = language
        fields = ["language"]
        if weekly_report is not None:
            profile.weekly_report = weekly_report
            fields.append("weekly_report")
        profile.save(update_fields=fields)
    return profile
