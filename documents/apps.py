from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DocumentsConfig(AppConfig):
    """The dossier as documents: the receipt PDF, the dossier PDF and its ZIP (no models)."""

    name = "documents"
    verbose_name = _("Documents")
