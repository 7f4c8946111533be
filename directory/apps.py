from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DirectoryConfig(AppConfig):
    """The public pages: the directory of projects (/projets/) and the roadmap's indicators
    (/indicateurs/). No sign-in; never a person's name, email, note or document."""

    name = "directory"
    verbose_name = _("Répertoire public")
