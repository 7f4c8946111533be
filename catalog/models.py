"""The data catalogue: who holds which database.

This app knows nothing of access requests; dependencies point from access_requests to here.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class DataHolder(models.Model):
    """An organisation that holds data sets and performs matching and extraction (CNAM, ...)."""

    code = models.SlugField(_("code"), max_length=50, unique=True)
    name = models.CharField(_("nom"), max_length=200)
    # Refreshed by the delays job; None until it knows (settings.HDH_HOLDER_DEFAULT_DAYS stands in).
    median_delivery_days = models.PositiveIntegerField(
        _("délai médian de mise à disposition (jours)"), null=True, blank=True,
        help_text=_("Médiane des jours entre l'ouverture d'une tâche et sa mise à disposition."))

    class Meta:
        ordering = ["name"]
        verbose_name = _("détenteur de données")
        verbose_name_plural = _("détenteurs de données")

    def __str__(self) -> str:
        return self.name


class Dataset(models.Model):
    """A database of the catalogue that an access request can ask for."""

    code = models.SlugField(_("code"), max_length=50, unique=True)
    name = models.CharField(_("nom"), max_length=200)
    holder = models.ForeignKey(
        DataHolder, on_delete=models.PROTECT, related_name="datasets", verbose_name=_("détenteur")
    )
    description = models.TextField(_("description"), blank=True)
    in_snds_main_base = models.BooleanField(_("fait partie de la base principale du SNDS"), default=False)

    class Meta:
        ordering = ["name"]
        verbose_name = _("base de données")
        verbose_name_plural = _("bases de données")

    def __str__(self) -> str:
        return f"{self.name} ({self.holder.name})"
