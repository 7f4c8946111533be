"""Project-level views: the landing page and the health check."""

from __future__ import annotations

from django.apps import apps
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


@require_GET
def home(request):
    return render(request, "home.html", {"signup_enabled": True})


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone()[0] == 1
    except Exception:  # noqa: BLE001 - any failure means "not usable"
        return False


def _broker_status() -> str:
    if not settings.REDIS_URL:
        return "eager"
    import redis

    try:
        redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1).ping()
        return "ok"
    except redis.RedisError:
        return "unavailable"


@never_cache
@require_GET
def healthz(request):
    """200 when the database and the broker (or in-process tasks) are usable, else 503."""
    database = "ok" if _database_ok() else "unavailable"
    broker = _broker_status()
    usable = database == "ok" and broker in ("ok", "eager")
    body = {"status": "ok" if usable else "unavailable", "database": database, "broker": broker}
    if database == "ok":
        # Emails that kept failing wait for an administrator (admin → outbox → retry). The
        # model is looked up by name: hdh_access sits below the apps and imports none of them.
        outbox = apps.get_model("notifications", "OutboxMessage")
        body["outbox_failed"] = outbox.objects.filter(status="failed").count()
    return JsonResponse(body, status=200 if usable else 503)


@login_required
def start(request):
    """Where a user lands after signing in: reviewers and management to the back office, applicants to the portal."""
    if request.user.has_perm("access_requests.view_all_requests"):
        return redirect("backoffice:queue")
    return redirect("portal:list")


class EmailAuthenticationForm(AuthenticationForm):
    """Sign-in by email address, whatever its case (sign-up stores addresses in lower case)."""

    def clean_username(self):
        return (self.cleaned_data.get("username") or "").strip().lower()
