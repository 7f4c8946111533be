"""What the header needs: which areas the signed-in user may open, and the site's DSFR settings."""

from __future__ import annotations

from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.utils.translation import get_language
from dsfr.models import DsfrConfig

SITE_CONFIG_KEY = "hdh:dsfr-site-config:{language}"
SITE_CONFIG_SECONDS = 300  # a change made outside a process that listens (a raw SQL update) shows within this


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_backoffice": False, "nav_portal": False}
    return {
        "nav_backoffice": user.has_perm("access_requests.view_all_requests"),
        "nav_portal": not user.has_perm("access_requests.view_all_requests") or user.is_superuser,
    }


def site_config(request):
    """django-dsfr's ``site_config`` (the configuration in the page's language, else the first one),
    read from the cache: django-dsfr's runs one or two queries on every page for a row edited once
    a year in the admin. Saving or deleting a configuration empties the cache (signals below)."""
    key = SITE_CONFIG_KEY.format(language=get_language())
    cached = cache.get(key)
    if cached is None:
        config = DsfrConfig.objects.filter(language=get_language()).first() or DsfrConfig.objects.first()
        cached = (config,)  # a tuple: "no configuration" is cached too
        cache.set(key, cached, SITE_CONFIG_SECONDS)
    return {"SITE_CONFIG": cached[0]}


def forget_site_config(**_kwargs) -> None:
    from django.conf import settings

    cache.delete_many([SITE_CONFIG_KEY.format(language=code) for code, _name in settings.LANGUAGES]
                      + [SITE_CONFIG_KEY.format(language=settings.LANGUAGE_CODE)])


def _config_changed(**_kwargs) -> None:
    # Now, and again once the change commits: a page that read the old row meanwhile may have
    # cached it again.
    forget_site_config()
    transaction.on_commit(forget_site_config)


post_save.connect(_config_changed, sender=DsfrConfig, dispatch_uid="hdh-forget-site-config")
post_delete.connect(_config_changed, sender=DsfrConfig, dispatch_uid="hdh-forget-site-config")
