"""Failed sign-ins: a growing wait, then a lock, keyed on the account and, separately, on the address.

The rules (settings ``AXES_*`` and ``HDH_LOGIN_*``, docs/operations.md):

1. **Account** (the user name, whatever the address): after ``HDH_LOGIN_DELAY_AFTER`` failures
   within the cool-off window, the next attempt must wait ``HDH_LOGIN_DELAY_SECONDS`` ×
   2^(failures − ``HDH_LOGIN_DELAY_AFTER``) seconds after the last failure, at most
   ``HDH_LOGIN_DELAY_MAX_SECONDS``. An attempt inside the wait is refused at once, before the
   password is checked (nothing sleeps), and is not counted as a failure. At
   ``AXES_FAILURE_LIMIT`` failures the account is locked for ``AXES_COOLOFF_MINUTES``.
2. **Address** (the client address, whatever the user names tried): at
   ``HDH_LOGIN_IP_FAILURE_LIMIT`` failures the address is locked for the same cool-off.

The client address is ``hdh_access.lib.client_ip.client_ip`` (a proxy header only from a trusted
proxy). django-axes records the failures (one ``AccessAttempt`` row per user name, address and
browser, with its count and last time) and locks on the account (``AXES_LOCKOUT_PARAMETERS``).
Axes has one failure limit for every key it locks on, so the address rule, with its higher
limit, and the wait are added by ``LockoutHandler`` (``AXES_HANDLER``), which axes asks before
every authentication (``is_allowed``) and tells after every failure (``user_login_failed``).
"""

from __future__ import annotations

import datetime as dt
import math

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username
from axes.models import AccessAttempt
from axes.signals import user_locked_out
from django.conf import settings
from django.db.models import Max, Sum

from hdh_access.lib.emails import normalise_address

# The request attribute that carries the wait from the handler to the login form.
WAIT_ATTRIBUTE = "hdh_login_wait_seconds"


def username_of(request, credentials: dict | None) -> str | None:
    """The user name an attempt is counted against, in the form sign-in uses (lower case, trimmed),
    so that "Porteur@X" and "porteur@x" are one account (``AXES_USERNAME_CALLABLE``)."""
    source = credentials if credentials else getattr(request, "POST", {})
    value = source.get("username")
    return normalise_address(value) if isinstance(value, str) else None


def wait_after(failures: int) -> int:
    """Seconds an account must wait after its last failure, given its failures so far (0: none)."""
    if failures < settings.HDH_LOGIN_DELAY_AFTER:
        return 0
    growth = 2 ** min(failures - settings.HDH_LOGIN_DELAY_AFTER, 32)
    return min(settings.HDH_LOGIN_DELAY_SECONDS * growth, settings.HDH_LOGIN_DELAY_MAX_SECONDS)


def seconds_to_wait(username: str | None, *, at: dt.datetime, since: dt.datetime) -> int:
    """Whole seconds before ``username`` may try again at ``at``, counting failures since ``since``."""
    if not username:
        return 0
    figures = AccessAttempt.objects.filter(username=username, attempt_time__gte=since).aggregate(
        failures=Sum("failures_since_start"), last=Max("attempt_time"))
    if not figures["failures"]:
        return 0
    left = figures["last"] + dt.timedelta(seconds=wait_after(figures["failures"])) - at
    return max(0, math.ceil(left.total_seconds()))


def address_failures(ip_address: str | None, *, since: dt.datetime) -> int:
    if not ip_address:
        return 0
    return AccessAttempt.objects.filter(ip_address=ip_address, attempt_time__gte=since).aggregate(
        failures=Sum("failures_since_start"))["failures"] or 0


def login_wait(request) -> int:
    """Seconds the sign-in refused by ``LockoutHandler`` asked to wait (0: not refused for that)."""
    return getattr(request, WAIT_ATTRIBUTE, 0)


class LockoutHandler(AxesDatabaseHandler):
    """Axes' database handler plus the address rule and the account's growing wait."""

    def address_locked(self, request) -> bool:
        since = get_cool_off_threshold(request)
        return address_failures(request.axes_ip_address, since=since) >= settings.HDH_LOGIN_IP_FAILURE_LIMIT

    def is_locked(self, request, credentials: dict | None = None) -> bool:
        return super().is_locked(request, credentials) or self.address_locked(request)

    def is_allowed(self, request, credentials: dict | None = None) -> bool:
        if not super().is_allowed(request, credentials):
            return False
        if self.is_whitelisted(request, credentials):
            return True
        wait = seconds_to_wait(get_client_username(request, credentials), at=request.axes_attempt_time,
                               since=get_cool_off_threshold(request))
        if wait:
            setattr(request, WAIT_ATTRIBUTE, wait)
            return False
        return True

    def user_login_failed(self, sender, credentials: dict, request=None, **kwargs):
        if request is not None and login_wait(request):
            return  # refused before the password was checked: not a failure
        super().user_login_failed(sender, credentials, request, **kwargs)
        if request is None or request.axes_locked_out or not self.address_locked(request):
            return
        # Axes flags a lock by its own (account) rule only; the address rule is flagged here.
        request.axes_locked_out = True
        request.axes_credentials = credentials
        user_locked_out.send("axes", request=request, username=get_client_username(request, credentials),
                             ip_address=request.axes_ip_address)
