"""Applicant organisations, user profiles (what a user belongs to, their language), and the
requests to join an organisation that already has members."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.names import (
    ORGANISATION_NAME_MAX_LENGTH,
    clean_organisation_name,
    normalise_organisation_name,
    organisation_name_key,
)
from catalog.models import DataHolder


class Organisation(models.Model):
    """An applicant organisation: the data controller ("responsable de traitement").

    ``name`` is always stored normalised (accounts.names) and ``name_key``, its case-folded
    form, is unique: "inserm u1018" is the same organisation as "Inserm U1018".
    """

    name = models.CharField(_("nom"), max_length=ORGANISATION_NAME_MAX_LENGTH, unique=True)
    name_key = models.CharField(_("clé du nom"), max_length=3 * ORGANISATION_NAME_MAX_LENGTH, unique=True,
                                editable=False)
    siret = models.CharField(_("SIRET"), max_length=14, blank=True)
    created_at = models.DateTimeField(_("créée le"), default=timezone.now, editable=False)
    # Created by someone signing up (not by an administrator or the demo): the purge of
    # unconfirmed accounts removes it once nobody and nothing is left in it.
    from_sign_up = models.BooleanField(_("créée à l'inscription"), default=False, editable=False)

    class Meta:
        db_table = "access_requests_organisation"  # moved from access_requests, table kept
        ordering = ["name"]
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        # Every way in (sign-up, admin, demo, shell) stores the same canonical name and key.
        self.name = normalise_organisation_name(self.name)
        self.name_key = organisation_name_key(self.name)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "name" in update_fields:
            kwargs["update_fields"] = {*update_fields, "name_key"}
        super().save(*args, **kwargs)

    def clean(self) -> None:
        try:
            self.name = clean_organisation_name(self.name)
        except ValidationError as error:
            raise ValidationError({"name": error}) from None
        twin = Organisation.objects.filter(name_key=organisation_name_key(self.name)).exclude(pk=self.pk).first()
        if twin is not None:
            raise ValidationError({"name": ValidationError(
                _("L'organisation « %(name)s » existe déjà (à la casse près)."), code="unique",
                params={"name": twin.name})})


class Profile(models.Model):
    """What a user belongs to: an applicant organisation, or a data holder for its staff."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    organisation = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="members",
        verbose_name=_("organisation"),
    )
    data_holder = models.ForeignKey(
        DataHolder, null=True, blank=True, on_delete=models.PROTECT, related_name="staff",
        verbose_name=_("détenteur de données"),
    )
    language = models.CharField(_("langue"), max_length=8, choices=settings.LANGUAGES, default="fr")
    weekly_report = models.BooleanField(_("recevoir le rapport hebdomadaire des délais"), default=False)

    class Meta:
        db_table = "access_requests_profile"  # moved from access_requests, table kept
        verbose_name = _("profil")
        verbose_name_plural = _("profils")

    def __str__(self) -> str:
        return str(self.user)


class MembershipStatus(models.TextChoices):
    PENDING = "pending", _("En attente")
    APPROVED = "approved", _("Acceptée")
    REFUSED = "refused", _("Refusée")


class MembershipRequest(models.Model):
    """Someone who signed up naming an organisation that already existed asks to join it.

    Joining gives access to every dossier of the organisation, so until a member of it or the
    HDH secretariat approves, the user has no organisation (``Profile.organisation`` is empty)
    and sees none of its dossiers. Decided requests stay as the record of who decided.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="membership_requests",
                             verbose_name=_("demandeur"))
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="membership_requests",
                                     verbose_name=_("organisation"))
    status = models.CharField(_("état"), max_length=16, choices=MembershipStatus.choices,
                              default=MembershipStatus.PENDING, db_index=True)
    requested_at = models.DateTimeField(_("demandée le"), default=timezone.now)
    decided_at = models.DateTimeField(_("décidée le"), null=True, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("décidée par"))

    class Meta:
        ordering = ["requested_at", "id"]
        verbose_name = _("demande de rattachement")
        verbose_name_plural = _("demandes de rattachement")
        constraints = [
            models.UniqueConstraint(fields=["user"], condition=Q(status=MembershipStatus.PENDING),
                                    name="accounts_one_pending_membership_per_user"),
        ]

    def __str__(self) -> str:
        return f"{self.user} → {self.organisation} ({self.get_status_display()})"


class ApiScope(models.TextChoices):
    READ = "read", _("Lecture")
    WRITE = "write", _("Lecture et écriture")


class ApiToken(models.Model):
    """A personal API token (api/, docs/api.md): named, expiring, revocable, read or read-write.

    The token is ``hdh_<prefix>_<secret>``; only its SHA-256 is stored. The secret is 32 random
    bytes, so a fast hash is enough (nothing to brute-force); ``prefix`` finds the row by index.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens",
                             verbose_name=_("utilisateur"))
    name = models.CharField(_("nom"), max_length=100)
    prefix = models.CharField(_("préfixe"), max_length=16, unique=True)
    digest = models.CharField(_("empreinte"), max_length=64)
    scope = models.CharField(_("portée"), max_length=8, choices=ApiScope.choices, default=ApiScope.READ)
    created_at = models.DateTimeField(_("créé le"), default=timezone.now)
    expires_at = models.DateTimeField(_("expire le"))
    revoked_at = models.DateTimeField(_("révoqué le"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("dernière utilisation"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("jeton d'API")
        verbose_name_plural = _("jetons d'API")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix})"

    @staticmethod
    def hash_secret(secret: str) -> str:
        return hashlib.sha256(secret.encode()).hexdigest()

    def is_usable(self, now=None) -> bool:
        now = now or timezone.now()
        return self.revoked_at is None and self.expires_at > now


class ProConnectIdentity(models.Model):
    """An account's link to a ProConnect identity: the issuer and the ``sub`` (OpenID Connect subject)
    it gives this service. A sign-in through ProConnect finds the account by this link first, by the
    verified email address only the first time (accounts.services.sign_in_with_proconnect)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="proconnect_identities",
                             verbose_name=_("compte"))
    issuer = models.CharField(_("émetteur"), max_length=255)
    sub = models.CharField(_("identifiant ProConnect (sub)"), max_length=255)
    linked_at = models.DateTimeField(_("reliée le"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("identité ProConnect")
        verbose_name_plural = _("identités ProConnect")
        constraints = [
            models.UniqueConstraint(fields=["issuer", "sub"], name="accounts_proconnect_one_account_per_identity"),
            models.UniqueConstraint(fields=["user", "issuer"], name="accounts_proconnect_one_identity_per_account"),
        ]

    def __str__(self) -> str:
        return f"{self.user} ← {self.sub}"
