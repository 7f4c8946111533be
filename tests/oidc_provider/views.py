"""The userinfo endpoint, answering a signed JWT (``application/jwt``) to the clients registered for
it, as ProConnect does, and JSON to the others (django-oidc-provider's own answer)."""

import json

import jwt
from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt
from oidc_provider import views as provider_views
from oidc_provider.lib.utils.common import get_issuer
from oidc_provider.models import RSAKey, Token

from tests.oidc_provider.models import SignedUserinfo


@csrf_exempt
def userinfo(request, *args, **kwargs):
    response = provider_views.userinfo(request, *args, **kwargs)
    if response.status_code != 200:
        return response
    access_token = request.headers.get("Authorization", "").partition(" ")[2]
    token = Token.objects.select_related("client").get(access_token=access_token)
    if not SignedUserinfo.objects.filter(client=token.client).exists():
        return response
    key = RSAKey.objects.order_by("pk").first()
    claims = {**json.loads(response.content), "iss": get_issuer(request=request), "aud": token.client.client_id}
    signed = jwt.encode(claims, key.key, algorithm="RS256", headers={"kid": key.kid})
    answer = HttpResponse(signed, content_type="application/jwt")
    answer["Cache-Control"] = "no-store"
    return answer
