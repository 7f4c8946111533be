"""Absolute links: every link that leaves the site (emails, files) starts with ``SITE_URL``.

One rule for every email, whether a page, a task, a periodic job or a command caused it: the
address is the configured one, never the ``Host`` of a request. A request is not always there
(the weekly report, reminders, imports), its ``Host`` is whatever the client or an internal proxy
sent (``127.0.0.1:8000`` behind a reverse proxy; a forged host in a password-reset request would
otherwise end up in the email), and one setting gives the same link whatever triggered the mail.
"""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse


def site_url() -> str:
    """``SITE_URL``, e.g. ``https://acces.health-data-hub.fr`` (env_origin refuses a trailing slash or a path)."""
    return str(settings.SITE_URL)


def absolute_url(path: str) -> str:
    """``path`` (``/portal/...``, as ``reverse`` gives it) on the configured site."""
    if not path.startswith("/"):
        raise ValueError(f"absolute_url needs a path starting with '/', got {path!r}")
    return site_url() + path


def absolute_reverse(viewname: str, *args: object, **kwargs: object) -> str:
    """``reverse(viewname, args=args, kwargs=kwargs)`` on the configured site."""
    return absolute_url(reverse(viewname, args=args or None, kwargs=kwargs or None))
