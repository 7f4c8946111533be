from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DelaysConfig(AppConfig):
    name = "delays"
    verbose_name = _("Délais")

    def ready(self) -> None:
        # Framework hook: connect this app's receivers of access_requests.signals and
        # register its Celery tasks (looked up by name by hdh_access.lib.broker.enqueue).
        from delays import receivers, tasks  # noqa: F401

