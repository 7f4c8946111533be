"""Project-level views: the landing page, the sign-in page, the health check, and the pages every
public service has (accessibility statement, legal notice, personal data, cookies, sitemap)."""

from __future__ import annotations

import datetime as dt
import hmac

import redis
from django.apps import apps
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.db import connection
from django.http import HttpRequest, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from hdh_access import lockout
from hdh_access.celery import app as celery_app
from hdh_access.lib.emails import normalise_address
from hdh_access.lib.urls import site_url


@require_GET
def home(request):
    return render(request, "home.html", {"signup_enabled": True})


# --- the pages of every public service, linked from the footer of every page (templates/base.html) ---
# The accessibility statement: the date of the checks it reports (update both with the next audit).
ACCESSIBILITY_CHECKED_ON = dt.date(2026, 12, 7)


@require_GET
def accessibility(request):
    contact = settings.HDH_ACCESSIBILITY_CONTACT
    return render(request, "pages/accessibility.html", {
        "checked_on": ACCESSIBILITY_CHECKED_ON, "contact": contact,
        "contact_href": contact if contact.startswith("https://") else f"mailto:{contact}",
        "site_url": site_url(),
    })


@require_GET
def legal_notice(request):
    return render(request, "pages/legal_notice.html")


@require_GET
def personal_data(request):
    return render(request, "pages/personal_data.html", {"unconfirmed_days": settings.HDH_UNCONFIRMED_ACCOUNT_DAYS})


def _days(seconds: int | None) -> int | None:
    """A cookie's lifetime in whole days (None: until the browser is closed)."""
    return None if seconds is None else round(seconds / 86400)


@require_GET
def cookies(request):
    """The cookies the site sets (none for tracking), named and timed from the settings."""
    session_days = None if settings.SESSION_EXPIRE_AT_BROWSER_CLOSE else _days(settings.SESSION_COOKIE_AGE)
    return render(request, "pages/cookies.html", {"cookies": [
        {"name": settings.SESSION_COOKIE_NAME, "purpose": "session", "days": session_days},
        {"name": settings.CSRF_COOKIE_NAME, "purpose": "csrf", "days": _days(settings.CSRF_COOKIE_AGE)},
        {"name": settings.LANGUAGE_COOKIE_NAME, "purpose": "language", "days": _days(settings.LANGUAGE_COOKIE_AGE)},
    ]})


@require_GET
def sitemap(request):
    return render(request, "pages/sitemap.html")


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone()[0] == 1
    except Exception:  # noqa: BLE001 - any failure means "not usable"
        return False


def _broker() -> tuple[str, dict[str, int] | str]:
    """The broker's status and the number of tasks waiting in each Celery queue ("eager" for both
    when tasks run in-process, "unavailable" when Redis does not answer)."""
    if not settings.REDIS_URL:
        return "eager", "eager"
    try:
        client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
        client.ping()
        # Celery's Redis transport keeps each queue as a list named after it.
        names = [queue.name for queue in celery_app.conf.task_queues or ()] or [celery_app.conf.task_default_queue]
        with client.pipeline(transaction=False) as pipe:
            for name in names:
                pipe.llen(name)
            return "ok", dict(zip(names, (int(n) for n in pipe.execute()), strict=True))
    except redis.RedisError:
        return "unavailable", "unavailable"


def may_read_health_details(request) -> bool:
    """Staff (the people who run the service and retry failed emails in the admin) and a monitor
    holding the token of HDH_HEALTHZ_TOKEN (``Authorization: Bearer <token>``); no token is
    accepted while the setting is empty."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and user.is_staff:
        return True
    token = settings.HDH_HEALTHZ_TOKEN
    scheme, _space, given = request.headers.get("Authorization", "").partition(" ")
    if not token or scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode(), token.encode())


@never_cache
@require_GET
def healthz(request):
    """200 when the database and the broker (or in-process tasks) are usable, else 503.

    Anyone gets the status alone; staff and a monitor with the token also get the database, the
    broker, the depth of the Celery queues and the outbox's pending and failed emails.
    """
    database = "ok" if _database_ok() else "unavailable"
    broker, queues = _broker()
    usable = database == "ok" and broker in ("ok", "eager")
    body: dict[str, str | int | dict[str, int]] = {"status": "ok" if usable else "unavailable"}
    if may_read_health_details(request):
        # queue_depth: all queues together; queues: each one (which kind of work lags behind).
        queue_depth = sum(queues.values()) if isinstance(queues, dict) else queues
        body.update(database=database, broker=broker, queue_depth=queue_depth, queues=queues)
        if database == "ok":
            # Emails that kept failing wait for an administrator (admin → outbox → retry). The
            # model is looked up by name: hdh_access sits below the apps and imports none of them.
            outbox = apps.get_model("notifications", "OutboxMessage")
            body["outbox_pending"] = outbox.objects.filter(status="pending").count()
            body["outbox_failed"] = outbox.objects.filter(status="failed").count()
    return JsonResponse(body, status=200 if usable else 503)


@login_required
def start(request):
    """Where a user lands after signing in: reviewers and management to the back office, applicants to the portal."""
    if request.user.has_perm("access_requests.view_all_requests"):
        return redirect("backoffice:queue")
    return redirect("portal:list")


class SaysHowLongToWait:
    """A sign-in form that, when the attempt was refused for coming too soon after failures
    (hdh_access/lockout.py), says how long to wait instead of "wrong password"."""

    request: HttpRequest | None

    def get_invalid_login_error(self):
        wait = lockout.login_wait(self.request)
        if wait:
            return ValidationError(
                ngettext("Trop de tentatives : réessayez dans %(seconds)d seconde.",
                         "Trop de tentatives : réessayez dans %(seconds)d secondes.", wait),
                code="throttled", params={"seconds": wait})
        return super().get_invalid_login_error()  # type: ignore[misc]


class EmailAuthenticationForm(SaysHowLongToWait, AuthenticationForm):
    """Sign-in by email address, whatever its case (sign-up stores addresses in lower case)."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": _("Adresse électronique ou mot de passe incorrect. Vérifiez les deux, puis réessayez."),
    }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The labels the page shows (and its error summary names).
        self.fields["username"].label = _("Adresse électronique")
        self.fields["password"].label = _("Mot de passe")

    def clean_username(self):
        return normalise_address(self.cleaned_data.get("username"))


class AdminLoginForm(SaysHowLongToWait, AdminAuthenticationForm):
    """The admin's sign-in, under the same waits and locks."""


class LoginView(auth_views.LoginView):
    """Django's sign-in page; an attempt refused for coming too soon answers 429 with Retry-After.
    With ProConnect configured, its button is offered too."""

    template_name = "accounts/login.html"
    authentication_form = EmailAuthenticationForm

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "proconnect": settings.PROCONNECT_ENABLED}

    def form_invalid(self, form):
        response = super().form_invalid(form)
        wait = lockout.login_wait(self.request)
        if wait:
            response.status_code = 429
            response["Retry-After"] = str(wait)
        return response


class LogoutView(auth_views.LogoutView):
    """Django's sign-out. A session opened through ProConnect ends ProConnect's session too: the
    browser goes to its end-session endpoint, which sends it back to the home page. The address is
    built by ``OIDC_OP_LOGOUT_URL_METHOD`` (accounts.proconnect.end_session_url), before the session
    and its ID token are flushed."""

    def post(self, request, *args, **kwargs):
        end_session = ""
        if settings.PROCONNECT_ENABLED and request.session.get("oidc_id_token"):
            end_session = import_string(settings.OIDC_OP_LOGOUT_URL_METHOD)(request)
        response = super().post(request, *args, **kwargs)
        return HttpResponseRedirect(end_session) if end_session else response
