"""Load clients and users from a JSON file into the test provider; print each user's ``sub``.
A user loaded again (same email) is updated and keeps their ``sub``.

    {"clients": [{"client_id": ..., "client_secret": ..., "redirect_uris": [...],
                  "post_logout_redirect_uris": [...], "signed_userinfo": true}],
     "users": [{"email": ..., "password": ..., "given_name": ..., "usual_name": ...,
                "siret": ..., "uid": ..., "email_verified": null}]}

The first load also makes the RSA key that signs the tokens (published at /openid/jwks).
"""

import json
from pathlib import Path

from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import transaction
from oidc_provider.lib.utils.common import default_sub_generator
from oidc_provider.models import Client, ResponseType, RSAKey

from tests.oidc_provider.models import Identity, SignedUserinfo


class Command(BaseCommand):
    help = "Load the test provider's clients and users from a JSON file"

    def add_arguments(self, parser):
        parser.add_argument("path")

    @transaction.atomic
    def handle(self, *args, path, **options):
        data = json.loads(Path(path).read_text())
        if not RSAKey.objects.exists():
            call_command("creatersakey", stdout=self.stderr)
        for spec in data.get("clients", []):
            client = Client.objects.create(
                name=spec["client_id"], client_type="confidential", client_id=spec["client_id"],
                client_secret=spec["client_secret"], jwt_alg="RS256", require_consent=True, reuse_consent=False)
            client.redirect_uris = spec["redirect_uris"]
            client.post_logout_redirect_uris = spec.get("post_logout_redirect_uris", [])
            client.save()
            client.response_types.add(ResponseType.objects.get(value="code"))
            if spec.get("signed_userinfo"):
                SignedUserinfo.objects.create(client=client)
        subs = {}
        for spec in data.get("users", []):  # a user loaded again is updated (same sub)
            user, _created = User.objects.update_or_create(username=spec["email"], defaults={
                "email": spec["email"], "first_name": spec.get("given_name", ""),
                "last_name": spec.get("usual_name", "")})
            user.set_password(spec["password"])
            user.save()
            Identity.objects.update_or_create(user=user, defaults={
                "siret": spec.get("siret", ""), "uid": spec.get("uid", ""), "email_verified": spec.get("email_verified")})
            subs[spec["email"]] = default_sub_generator(user)
        self.stdout.write(json.dumps(subs))
