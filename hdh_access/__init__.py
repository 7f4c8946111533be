"""HDH access: the workflow engine for health-data access requests."""

from .celery import app as celery_app

__all__ = ("celery_app",)
