"""Rate limit per token (a session: per user). HDH_API_RATE, e.g. "600/min"; 429 with Retry-After."""

from __future__ import annotations

from rest_framework.throttling import SimpleRateThrottle

from accounts.models import ApiToken


class PerTokenThrottle(SimpleRateThrottle):
    scope = "api"

    def get_cache_key(self, request, view) -> str:
        if isinstance(request.auth, ApiToken):
            ident = f"token-{request.auth.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user-{request.user.pk}"
        else:
            ident = f"ip-{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}
