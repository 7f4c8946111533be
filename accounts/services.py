"""Account writes: sign-up with email confirmation, joining and merging organisations, the purge
of unconfirmed accounts, and the user's profile.

Sign-up never reveals whether an address already has an account: the page that follows is the
same, and the mail that goes out says either "confirm your address" (new or still unconfirmed
account) or "you already have an account" (confirmed one), and it takes the same time either way. Mail
goes through the outbox (``accounts.signals.account_email``), sent after commit.

Joining an organisation gives access to all its dossiers: the creator of a new organisation
joins it, anyone else asks (``MembershipRequest``) and a member or the secretariat decides.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError, RestrictedError
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.encoding import force_bytes, force_str
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode
from django.utils.translation import gettext as _

from access_requests.models import AccessRequest
from access_requests.roles import sees_every_request, staff_roles
from access_requests.services import attach_to_organisation
from access_requests.workflow import Role
from accounts.models import (
    ApiScope,
    ApiToken,
    MembershipRequest,
    MembershipStatus,
    Organisation,
    ProConnectIdentity,
    Profile,
)
from accounts.names import clean_organisation_name, organisation_name_key
from accounts.signals import account_email
from hdh_access.lib.emails import normalise_address
from hdh_access.lib.errors import ActionNotPermitted, ConcurrentUpdate, InvalidInput, NotFound
from hdh_access.lib.urls import absolute_reverse, absolute_url

logger = logging.getLogger(__name__)

LANGUAGE_CODES = {code for code, _name in settings.LANGUAGES}


# --- mail --------------------------------------------------------------------------------------
def _send_on_commit(template: str, *, to: str, language: str, context: dict, user_id: int | None = None) -> None:
    """Queue ``accounts/emails/<template>`` for ``to`` through the outbox, in this transaction
    (the receiver in notifications renders it and writes the row; the sweep sends it after commit)."""
    key = f"account:{template}:{user_id or '-'}:{uuid.uuid4().hex}"
    account_email.send(sender=None, key=key, to=to, language=language, template=template, context=context)


def send_password_reset(*, to: str, context: dict) -> None:
    """The password-reset email of Django's PasswordResetForm, through the outbox. Its link is on
    ``SITE_URL`` like every other (not on the ``Host`` the form was posted to)."""
    user = context.get("user")
    link = absolute_reverse("accounts:password_reset_confirm", uidb64=context["uid"], token=context["token"])
    _send_on_commit("password_reset", to=to, language=translation.get_language() or settings.LANGUAGE_CODE,
                    context={**context, "reset_link": link}, user_id=getattr(user, "pk", None))


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
    return normalise_address(email)


def organisation_for_sign_up(*, name: str) -> Organisation | None:
    """The existing organisation of this name, whatever its case, spacing or invisible
    characters (``Organisation.name_key``); None when there is none and sign-up creates it."""
    return Organisation.objects.filter(name_key=organisation_name_key(name)).first()


def account_for_email(email: str):
    """The account of this address, whatever its case: by user name (sign-up stores the address
    there), else by email; None when there is none."""
    User = get_user_model()
    return User.objects.filter(username__iexact=email).first() or User.objects.filter(email__iexact=email).first()


@dataclass(frozen=True)
class SignUpOutcome:
    """What happened, for tests and logs; the user-facing page is the same in every case."""

    user_id: int
    created: bool


def sign_up(*, email: str, first_name: str, last_name: str, password: str, organisation_name: str,
            language: str = "fr") -> SignUpOutcome:
    """Create an inactive account and send its confirmation link.

    A new organisation name creates the organisation, which its creator joins. An organisation
    that already exists is not joined: the account gets a pending ``MembershipRequest`` that one
    of its members or the secretariat decides once the address is confirmed.

    The link starts with ``SITE_URL`` (hdh_access.lib.urls), as in every email. An address that already
    has an account gets a mail instead, nothing about the account changes, and the answer takes
    the same time: the password is hashed either way (the hash is the slow part of a sign-up).
    """
    User = get_user_model()
    email = normalise_email(email)
    language = language if language in LANGUAGE_CODES else settings.LANGUAGE_CODE
    if not email or "@" not in email:
        raise InvalidInput(_("Indiquez une adresse électronique valide."), field="email")
    # The name is checked first, so that its refusal cannot tell whether the address has an account.
    try:
        name = clean_organisation_name(organisation_name)
    except ValidationError as error:
        raise InvalidInput(error.messages[0], field="organisation") from None
    with transaction.atomic():
        organisation = organisation_for_sign_up(name=name)
        existing = account_for_email(email)
        if existing is not None:
            make_password(password)  # the same work as a new account, thrown away: the same time
            _tell_existing(existing, language=language)
            return SignUpOutcome(user_id=existing.pk, created=False)
        user = User(username=email, email=email, first_name=(first_name or "").strip()[:150],
                    last_name=(last_name or "").strip()[:150], is_active=False)
        user.set_password(password)
        try:
            with transaction.atomic():
                user.save()
        except IntegrityError:  # the same address signed up at the same instant
            return SignUpOutcome(user_id=User.objects.get(username=email).pk, created=False)
        joins = organisation is not None
        if organisation is None:
            try:
                with transaction.atomic():
                    organisation = Organisation.objects.create(name=name, from_sign_up=True)
            except IntegrityError:  # created by someone else in between: theirs, so ask to join
                organisation = Organisation.objects.get(name_key=organisation_name_key(name))
                joins = True
        # Its creator joins a new organisation; an existing one is joined once a member approves.
        Profile.objects.create(user=user, organisation=None if joins else organisation, language=language)
        if joins:
            MembershipRequest.objects.create(user=user, organisation=organisation)
            context = {"user": user, "pending_organisation": organisation}
        else:
            context = {"user": user, "organisation": organisation}
        _send_on_commit("confirm", to=email, language=language, user_id=user.pk, context={
            **context, "link": absolute_url(confirmation_path(user))})
    logger.info("sign-up: account %s created (%s), confirmation sent", user.pk,
                "asks to join" if joins else "new organisation")
    return SignUpOutcome(user_id=user.pk, created=True)


def _tell_existing(user, *, language: str) -> None:
    if not user.is_active and user.last_login is None:
        # Signed up but never confirmed: send a fresh link (password and name unchanged).
        pending = pending_membership(user)
        _send_on_commit("confirm", to=user.email, language=language, user_id=user.pk, context={
            "user": user, "organisation": getattr(getattr(user, "profile", None), "organisation", None),
            "pending_organisation": pending.organisation if pending else None,
            "link": absolute_url(confirmation_path(user))})
        return
    # A confirmed (or deactivated) account: say so, point to sign-in and password reset.
    _send_on_commit("already_registered", to=user.email, language=language, user_id=user.pk, context={
        "user": user, "login_link": absolute_reverse("login"),
        "reset_link": absolute_reverse("accounts:password_reset")})


def user_from_link(uidb64: str, token: str):
    """The inactive-or-active user a confirmation link designates, if its token is valid; else None."""
    User = get_user_model()
    try:
        user = User.objects.get(pk=force_str(urlsafe_base64_decode(uidb64)))
    except (TypeError, ValueError, OverflowError, User.DoesNotExist):
        return None
    return user if email_confirmation_token.check_token(user, token) else None


def confirm_email(*, uidb64: str, token: str):
    """Activate the account of a valid confirmation link; InvalidInput otherwise. The members of
    an organisation the user asks to join are told."""
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
            # Only now is the request to join real: its members hear of it (not of unconfirmed
            # addresses, which anyone can type).
            pending = pending_membership(user)
            if pending is not None:
                _tell_approvers(pending)
    return user


# --- sign-in with ProConnect -------------------------------------------------------------------
@dataclass(frozen=True)
class ProConnectClaims:
    """What ProConnect says of the person signing in (its userinfo, read by accounts.proconnect).
    ``email_verified`` is None when the provider does not say: ProConnect does not send it."""

    sub: str
    email: str
    email_verified: bool | None = None
    given_name: str = ""
    usual_name: str = ""
    siret: str = ""


def normalise_siret(value: str | None) -> str:
    """A SIRET as it is compared: its characters without spaces ("110 020 013 00097": "11002001300097")."""
    return "".join((value or "").split())


def sign_in_with_proconnect(*, issuer: str, claims: ProConnectClaims, language: str = "fr"):
    """The account a ProConnect identity signs in to; ActionNotPermitted, with what to do, when it may not.

    1. An identity already linked (``ProConnectIdentity``: issuer and ``sub``) signs in to its account,
       whatever its address has become on either side.
    2. Else the address finds the account, as sign-up and sign-in compare addresses (case-insensitive),
       and the link is recorded. Only a verified address: ProConnect's identity providers (the
       administrations' directories, ProConnect Identité) vouch for the professional address they
       give, and ProConnect sends no ``email_verified``, so its absence is trusted; a provider that
       says ``email_verified: false`` is refused. An account already linked to another ProConnect
       identity is refused (an administrator removes the old link in the admin).
    3. Else a new account is created, active (the address is verified) and without a password: it
       signs in with ProConnect (Django's password reset skips accounts without a usable password).
       As at sign-up, an organisation is never joined without its members: when one has the SIRET
       ProConnect gives, a request to join it is made, and its members are told; otherwise the
       account has no organisation.

    An inactive account is refused (unconfirmed or deactivated), and so is an account whose
    organisation has a SIRET other than ProConnect's: the person would act for another organisation.
    A refusal records nothing.
    """
    email = normalise_email(claims.email)
    siret = normalise_siret(claims.siret)
    language = language if language in LANGUAGE_CODES else settings.LANGUAGE_CODE
    if not claims.sub:
        raise InvalidInput(_("ProConnect n'a pas transmis votre identifiant. Réessayez, ou connectez-vous avec votre "
                             "adresse électronique et votre mot de passe."))
    with transaction.atomic():
        link = ProConnectIdentity.objects.select_related("user").filter(issuer=issuer, sub=claims.sub).first()
        if link is not None:
            _check_proconnect_account(link.user, siret=siret)
            logger.info("proconnect: account %s signed in by its link", link.user_id)
            return link.user
        if not email or "@" not in email or claims.email_verified is False:
            raise ActionNotPermitted(_(
                "ProConnect n'a pas transmis d'adresse électronique vérifiée : votre compte ne peut pas être "
                "reconnu. Connectez-vous avec votre adresse électronique et votre mot de passe."))
        user = account_for_email(email)
        if user is None:
            user = _create_proconnect_account(email=email, claims=claims, siret=siret, language=language)
        else:
            _check_proconnect_account(user, siret=siret)
            if ProConnectIdentity.objects.filter(user=user, issuer=issuer).exists():
                raise ActionNotPermitted(_(
                    "Le compte de %(email)s est déjà relié à une autre identité ProConnect. Connectez-vous avec "
                    "votre mot de passe, ou contactez le Health Data Hub.") % {"email": email})
        try:
            with transaction.atomic():
                ProConnectIdentity.objects.create(user=user, issuer=issuer, sub=claims.sub)
        except IntegrityError:  # the same identity signing in twice at the same instant
            raise ConcurrentUpdate(_("Une autre connexion avec ProConnect est en cours. Réessayez.")) from None
    logger.info("proconnect: account %s linked to its ProConnect identity", user.pk)
    return user


def _check_proconnect_account(user, *, siret: str) -> None:
    """Refuse an inactive account, and one whose organisation has a SIRET other than ProConnect's."""
    if not user.is_active:
        raise ActionNotPermitted(_(
            "Ce compte n'est pas actif : confirmez votre adresse électronique avec le lien reçu à l'inscription, "
            "ou contactez le Health Data Hub s'il a été désactivé."))
    profile = Profile.objects.select_related("organisation").filter(user_id=user.pk).first()
    organisation = profile.organisation if profile else None
    if organisation is not None and organisation.siret and normalise_siret(organisation.siret) != siret:
        raise ActionNotPermitted(_(
            "ProConnect vous identifie pour l'organisation de SIRET %(siret)s, et votre compte appartient à "
            "« %(organisation)s » (SIRET %(own)s). Connectez-vous avec ProConnect au titre de cette organisation, "
            "ou avec votre mot de passe.") % {"siret": siret or "—", "organisation": organisation.name,
                                              "own": normalise_siret(organisation.siret)})


def _create_proconnect_account(*, email: str, claims: ProConnectClaims, siret: str, language: str):
    """A new active account for a verified address, without a password; a request to join the
    organisation of the SIRET when there is one (its members are told), as sign-up does."""
    User = get_user_model()
    user = User(username=email, email=email, first_name=(claims.given_name or "").strip()[:150],
                last_name=(claims.usual_name or "").strip()[:150], is_active=True)
    user.set_unusable_password()
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError:  # the same address signed up at the same instant
        raise ConcurrentUpdate(_("Un compte vient d'être créé pour %(email)s. Réessayez.") % {"email": email}) from None
    organisation = Organisation.objects.filter(siret=siret).order_by("pk").first() if siret else None
    Profile.objects.create(user=user, organisation=None, language=language)
    if organisation is not None:
        _tell_approvers(MembershipRequest.objects.create(user=user, organisation=organisation))
    logger.info("proconnect: account %s created (%s)", user.pk,
                "asks to join an organisation" if organisation else "no organisation")
    return user


# --- joining an organisation ------------------------------------------------------------------
def manages_organisations(user) -> bool:
    """The secretariat and administrators decide any request to join and merge organisations."""
    return bool(staff_roles(user) & {Role.SECRETARIAT, Role.ADMINISTRATOR})


def pending_membership(user) -> MembershipRequest | None:
    """The user's request to join an organisation that nobody has decided yet, if any."""
    if user is None or user.pk is None:
        return None
    return (MembershipRequest.objects.select_related("organisation")
            .filter(user_id=user.pk, status=MembershipStatus.PENDING).first())


def active_members(organisation: Organisation):
    """The users who belong to ``organisation`` and can sign in (those who may approve newcomers)."""
    User = get_user_model()
    return User.objects.filter(profile__organisation=organisation, is_active=True).select_related("profile")


def may_decide_membership(user, membership: MembershipRequest) -> bool:
    """A signed-in member of the organisation, or the secretariat; never the requester."""
    if user is None or not user.is_authenticated or not user.is_active or user.pk == membership.user_id:
        return False
    if manages_organisations(user):
        return True
    profile = Profile.objects.filter(user_id=user.pk).only("organisation_id").first()
    return bool(profile and profile.organisation_id and profile.organisation_id == membership.organisation_id)


def _language_of(user) -> str:
    """The user's language; ``user.profile`` read as loaded (active_members joins it), else queried."""
    profile = getattr(user, "profile", None)
    return profile.language if profile and profile.language in LANGUAGE_CODES else settings.LANGUAGE_CODE


def _tell_approvers(membership: MembershipRequest) -> None:
    """Each active member of the organisation gets an email: someone asks to join."""
    for member in active_members(membership.organisation):
        _send_on_commit("membership_requested", to=member.email, language=_language_of(member), user_id=member.pk,
                        context={"member": member, "requester": membership.user,
                                 "organisation": membership.organisation,
                                 "link": absolute_reverse("accounts:organisation")})


def approve_membership(*, actor, membership_id: int) -> MembershipRequest:
    """The requester joins the organisation: they see and edit its dossiers from now on."""
    return _decide_membership(actor=actor, membership_id=membership_id, approve=True)


def refuse_membership(*, actor, membership_id: int) -> MembershipRequest:
    """The requester does not join; their account stays, without an organisation."""
    return _decide_membership(actor=actor, membership_id=membership_id, approve=False)


def _decide_membership(*, actor, membership_id: int, approve: bool) -> MembershipRequest:
    if actor is None or not actor.is_authenticated:
        raise ActionNotPermitted(_("Connectez-vous pour traiter une demande de rattachement."))
    with transaction.atomic():
        membership = (MembershipRequest.objects.select_for_update(of=("self",))
                      .select_related("user", "organisation").filter(pk=membership_id).first())
        if membership is None:
            raise NotFound(_("Cette demande de rattachement n'existe pas."))
        if not may_decide_membership(actor, membership):
            raise ActionNotPermitted(_(
                "Seuls les membres de l'organisation « %(organisation)s » et le secrétariat du HDH peuvent traiter "
                "cette demande de rattachement.") % {"organisation": membership.organisation.name})
        if membership.status != MembershipStatus.PENDING:
            raise ConcurrentUpdate(_("Cette demande de rattachement a déjà été traitée."))
        requester = membership.user
        if not requester.is_active:
            raise InvalidInput(_("%(email)s n'a pas encore confirmé son adresse électronique.") % {
                "email": requester.email})
        membership.status = MembershipStatus.APPROVED if approve else MembershipStatus.REFUSED
        membership.decided_at = timezone.now()
        membership.decided_by = actor
        membership.save(update_fields=["status", "decided_at", "decided_by"])
        if approve:
            profile, _created = Profile.objects.select_for_update().get_or_create(user=requester)
            profile.organisation = membership.organisation
            profile.save(update_fields=["organisation"])
            # The drafts they opened while waiting belong to the organisation from now on.
            attach_to_organisation(
                request_ids=AccessRequest.objects.filter(applicant=requester, organisation__isnull=True)
                .values_list("pk", flat=True), organisation=membership.organisation, applicant=requester)
        _send_on_commit("membership_approved" if approve else "membership_refused", to=requester.email,
                        language=_language_of(requester), user_id=requester.pk, context={
                            "user": requester, "organisation": membership.organisation,
                            "link": absolute_reverse("portal:list" if approve else "accounts:organisation")})
    logger.info("membership: %s %s the request of user %s to join organisation %s", actor.pk,
                "approved" if approve else "refused", requester.pk, membership.organisation_id)
    return membership


# --- organisations: merging duplicates --------------------------------------------------------
@dataclass(frozen=True)
class MergeOutcome:
    target: Organisation
    members: int
    requests: int
    memberships: int


def merge_organisations(*, actor, source: Organisation, target: Organisation) -> MergeOutcome:
    """Merge the duplicate ``source`` into ``target``: its members, its access requests and its
    requests to join move to ``target`` (which takes its SIRET if it has none), then ``source``
    is deleted; all in one transaction. Secretariat and administrators only."""
    if not manages_organisations(actor):
        raise ActionNotPermitted(_("Seul le secrétariat du HDH peut fusionner des organisations."))
    if source.pk == target.pk:
        raise InvalidInput(_("Une organisation ne peut pas être fusionnée avec elle-même."), field="target")
    with transaction.atomic():
        # Both rows locked, in one order (two merges in opposite directions cannot deadlock).
        locked = {o.pk: o for o in Organisation.objects.select_for_update().filter(
            pk__in=[source.pk, target.pk]).order_by("pk")}
        if len(locked) != 2:
            raise NotFound(_("Une des deux organisations n'existe plus."))
        source, target = locked[source.pk], locked[target.pk]
        members = Profile.objects.filter(organisation=source).update(organisation=target)
        requests = AccessRequest.objects.filter(organisation=source).update(organisation=target)
        memberships = MembershipRequest.objects.filter(organisation=source).update(organisation=target)
        if not target.siret and source.siret:
            target.siret = source.siret
            target.save(update_fields=["siret"])
        source_id, source_name = source.pk, source.name
        source.delete()
    logger.info("organisations: %s merged organisation %s (%s) into %s: %d member(s), %d request(s), "
                "%d membership request(s) moved", actor.pk, source_id, source_name, target.pk, members, requests,
                memberships)
    return MergeOutcome(target=target, members=members, requests=requests, memberships=memberships)


# --- purge of unconfirmed sign-ups --------------------------------------------------------------
@dataclass(frozen=True)
class PurgeOutcome:
    users: int
    organisations: int
    kept: int  # unconfirmed accounts old enough but with something attached (kept)


def unconfirmed_accounts(*, before: dt.datetime):
    """Accounts made by sign-up and never confirmed, created before ``before``: inactive, never
    signed in (an account an administrator deactivated has signed in), not staff, no role, no
    data holder, no permission of their own."""
    User = get_user_model()
    return (User.objects.filter(is_active=False, last_login__isnull=True, date_joined__lt=before,
                                is_staff=False, is_superuser=False, groups__isnull=True,
                                user_permissions__isnull=True)
            .exclude(profile__data_holder__isnull=False))


def _empty_sign_up_organisations(*, before: dt.datetime):
    """Organisations created by sign-up before ``before`` with no member, no access request and no
    pending request to join."""
    return (Organisation.objects.filter(from_sign_up=True, created_at__lt=before)
            .exclude(pk__in=Profile.objects.filter(organisation__isnull=False).values("organisation_id"))
            .exclude(pk__in=AccessRequest.objects.filter(organisation__isnull=False).values("organisation_id"))
            .exclude(pk__in=MembershipRequest.objects.filter(status=MembershipStatus.PENDING)
                     .values("organisation_id")))


def purge_unconfirmed_accounts(*, now: dt.datetime) -> PurgeOutcome:
    """Delete the accounts whose address was not confirmed within HDH_UNCONFIRMED_ACCOUNT_DAYS
    days, then the organisations sign-up created that are left with no member, no access request
    and no pending request to join. An account with anything attached that protects it (a
    request, a note) is kept. Idempotent: the daily beat job and ``purge_unconfirmed_accounts``."""
    before = now - dt.timedelta(days=settings.HDH_UNCONFIRMED_ACCOUNT_DAYS)
    users = kept = 0
    for pk in list(unconfirmed_accounts(before=before).values_list("pk", flat=True).distinct()):
        with transaction.atomic():
            # Re-read under a lock: confirmed in between means kept.
            user = unconfirmed_accounts(before=before).select_for_update(of=("self",)).filter(pk=pk).first()
            if user is None:
                continue
            try:
                with transaction.atomic():
                    user.delete()
            except (ProtectedError, RestrictedError):
                kept += 1
                continue
            users += 1
    organisations = 0
    for pk in list(_empty_sign_up_organisations(before=before).values_list("pk", flat=True)):
        with transaction.atomic():
            # Locked and asked again: a sign-up naming it in between keeps it.
            organisation = _empty_sign_up_organisations(before=before).select_for_update().filter(pk=pk).first()
            if organisation is not None:
                organisation.delete()
                organisations += 1
    logger.info("purge: %d unconfirmed account(s) and %d empty organisation(s) deleted, %d account(s) kept",
                users, organisations, kept)
    return PurgeOutcome(users=users, organisations=organisations, kept=kept)


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


# --- API tokens ----------------------------------------------------------------------------------
API_TOKEN_NAME_MAX_LENGTH: int = ApiToken._meta.get_field("name").max_length or 100
API_TOKEN_MAX_DAYS = 365


def create_api_token(*, actor, user=None, name: str, scope: str, days: int = 90,
                     now: dt.datetime | None = None) -> tuple[ApiToken, str]:
    """A new token for ``user`` (by default the actor; someone else's only for a superuser).
    Returns the row and the token itself, shown once and stored nowhere."""
    user = user or actor
    if actor is None or not actor.is_authenticated or (user.pk != actor.pk and not actor.is_superuser):
        raise ActionNotPermitted(_("Vous ne pouvez créer un jeton d'API que pour vous-même."))
    if not user.is_active:
        raise InvalidInput(_("Ce compte est désactivé : il ne peut pas recevoir de jeton d'API."))
    name = (name or "").strip()
    if not name or len(name) > API_TOKEN_NAME_MAX_LENGTH:
        raise InvalidInput(_("Donnez au jeton un nom de %(max)s caractères au plus.") % {"max": API_TOKEN_NAME_MAX_LENGTH})
    if scope not in ApiScope.values:
        raise InvalidInput(_("Portée de jeton inconnue : %(scope)s (lecture « read » ou écriture « write »).")
                           % {"scope": scope})
    if not 1 <= days <= API_TOKEN_MAX_DAYS:
        raise InvalidInput(_("La durée de validité d'un jeton va de 1 à %(max)s jours.") % {"max": API_TOKEN_MAX_DAYS})
    now = now or timezone.now()
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    token = ApiToken.objects.create(user=user, name=name, prefix=prefix, digest=ApiToken.hash_secret(secret), scope=scope,
                                    created_at=now, expires_at=now + dt.timedelta(days=days))
    logger.info("API token %s created for user %s by %s", prefix, user.pk, actor.pk)
    return token, f"hdh_{prefix}_{secret}"


def revoke_api_token(*, actor, token_id: int, now: dt.datetime | None = None) -> ApiToken:
    """Revoke one of the actor's tokens (a superuser: anyone's). Revoking twice changes nothing."""
    with transaction.atomic():
        token = ApiToken.objects.select_for_update().filter(pk=token_id).first()
        if token is None or (token.user_id != actor.pk and not actor.is_superuser):
            raise NotFound(_("Jeton d'API introuvable."))
        if token.revoked_at is None:
            token.revoked_at = now or timezone.now()
            token.save(update_fields=["revoked_at"])
    return token
