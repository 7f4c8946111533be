"""Applicant organisations and user profiles (what a user belongs to, their language)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from catalog.models import DataHolder


class Organisation(models.Model):
    """An applicant organisation: the data controller ("responsable de traitement")."""

    name = models.CharField(_("nom"), max_length=200, unique=True)
    siret = models.CharField(_("SIRET"), max_length=14, blank=True)

    class Meta:
        db_table = "access_requests_organisation"  # moved from access_requests, table kept
        ordering = ["name"]
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")

    def __str__(self) -> str:
        return self.name


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
