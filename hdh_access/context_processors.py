"""What the header needs: which areas the signed-in user may open."""

from __future__ import annotations


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_backoffice": False, "nav_portal": False}
    return {
        "nav_backoffice": user.has_perm("access_requests.view_all_requests"),
        "nav_portal": not user.has_perm("access_requests.view_all_requests") or user.is_superuser,
    }
