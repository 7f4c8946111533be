"""The Celery application. Configuration comes from Django settings (CELERY_* names)."""

from __future__ import annotations

import os

from celery import Celery
from celery.signals import task_prerun

from hdh_access import db_router

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hdh_access.settings")

# DjangoTask adds delay_on_commit(): enqueue only once the surrounding transaction commits.
app = Celery("hdh_access", task_cls="celery.contrib.django.task:DjangoTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
def _task_starts_without_writes(task=None, **_kwargs) -> None:
    """A task is a unit of work of its own for the read replica's routing (hdh_access/db_router.py),
    unless it runs eagerly inside another one (a request without a broker), whose writes it shares."""
    if task is not None and not task.request.is_eager:
        db_router.start_unit_of_work()
