from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Comptes")

    def ready(self) -> None:
        # Framework hook: register this app's Celery tasks (the beat schedule names them); and the
        # permissions cached across requests are forgotten when who holds what changes.
        from accounts import permissions, tasks  # noqa: F401

        permissions.connect()
        # The cached DSFR site configuration is forgotten when the admin changes it, in every process.
        from hdh_access import context_processors  # noqa: F401
