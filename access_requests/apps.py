from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccessRequestsConfig(AppConfig):
    name = "access_requests"
    verbose_name = _("Demandes d'accès")

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        # Framework hook: roles.py needs the auth models, loaded once the registry is ready.
        from access_requests.roles import ensure_role_groups

        post_migrate.connect(ensure_role_groups, sender=self)

        # Framework hook: register this app's Celery tasks (the antivirus scan, enqueued by name
        # by services.scanning through hdh_access.lib.broker.enqueue).
        from access_requests import tasks  # noqa: F401
