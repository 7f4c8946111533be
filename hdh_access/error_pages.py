"""The site's own error pages (400, 403, 404, 500 and a refused CSRF check), in the DSFR layout,
in the user's language, each with a way back; under /api/, problem details instead (hdh_access.lib.problems). hdh_access/urls.py names them as Django's
handlers; settings.CSRF_FAILURE_VIEW names ``csrf_failure``. (A refused write of a service is
another matter: hdh_access/middleware.py answers it with templates/error.html.)

The 500 page is drawn without context processors: they read the session, the user and the DSFR's
site configuration from the database, which may be the very thing that failed.
"""

from __future__ import annotations

import logging

from django.http import HttpResponseServerError
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.template import loader
from django.utils.translation import gettext as _
from django.views.decorators.csrf import requires_csrf_token

from hdh_access.lib.problems import is_api, problem_response
from hdh_access.middleware import back_url

logger = logging.getLogger(__name__)

# What the 500 handler answers if even its template cannot be drawn.
LAST_RESORT = (
    '<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8"><title>Erreur inattendue</title></head>'
    '<body><main><h1>Erreur inattendue</h1><p>Le service rencontre un problème. Réessayez plus tard.</p>'
    '<p lang="en">The service has a problem. Please try again later.</p><p><a href="/">Accueil / Home</a></p>'
    '</main></body></html>'
)


@requires_csrf_token
def bad_request(request, exception=None):
    if is_api(request):
        return problem_response("invalid_input", 400, _("Requête invalide."))
    return render(request, "400.html", status=400)


@requires_csrf_token
def permission_denied(request, exception=None):
    if is_api(request):
        return problem_response("not_permitted", 403, _("Accès refusé."))
    return render(request, "403.html", status=403)


@requires_csrf_token
def page_not_found(request, exception=None):
    # An API address no view matched: an API error, not a page (a view's own 404 is api.problems').
    if is_api(request):
        return problem_response("not_found", 404, _("Adresse inconnue de l'API."))
    return render(request, "404.html", status=404)


def csrf_failure(request, reason=""):
    """A form refused by the CSRF check: its page was too old, or the browser refuses cookies."""
    return render(request, "403_csrf.html", {"back_url": back_url(request)}, status=403)


@requires_csrf_token
def server_error(request):
    if is_api(request):
        return problem_response("server_error", 500, "Internal server error.")
    try:
        # A plain context: no context processor runs, so nothing here queries the database.
        html = loader.get_template("500.html").render({"request": request, "csrf_token": get_token(request)})
    except Exception:  # noqa: BLE001 - the error page of last resort must answer whatever happens
        logger.exception("the 500 page could not be drawn")
        html = LAST_RESORT
    return HttpResponseServerError(html)
