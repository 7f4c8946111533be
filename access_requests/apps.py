from django.apps import AppConfig
from django.urls import register_converter
from django.utils.translation import gettext_lazy as _

from access_requests.references import ReferenceConverter


class AccessRequestsConfig(AppConfig):
    name = "access_requests"
    verbose_name = _("Demandes d'accès")

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        # Framework hook: roles.py needs the auth models, loaded once the registry is ready.
        from access_requests.roles import ensure_role_groups

        post_migrate.connect(ensure_role_groups, sender=self)
        # <reference:...> in the pages' URL patterns: one pattern, access_requests/references.py.
        register_converter(ReferenceConverter, "reference")
        # Framework hooks: register the app's Celery tasks (the beat schedule names them; the
        # antivirus scan is enqueued by name by services.scanning through hdh_access.lib.broker),
        # and give SQLite connections the search's folding function (hdh_access.lib.search).
        from access_requests import tasks  # noqa: F401
        from hdh_access.lib import search  # noqa: F401
