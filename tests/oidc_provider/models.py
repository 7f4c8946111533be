from django.conf import settings
from django.db import models


class Identity(models.Model):
    """What the provider says of a user beyond Django's fields: ProConnect's claims."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="identity")
    siret = models.CharField(max_length=20, blank=True)
    uid = models.CharField(max_length=64, blank=True)
    # None: the claim is not sent (as ProConnect does); True or False: sent as such.
    email_verified = models.BooleanField(null=True)

    def __str__(self) -> str:
        return str(self.user)


class SignedUserinfo(models.Model):
    """A client whose userinfo is a signed JWT (``application/jwt``), as ProConnect's clients get it."""

    client = models.OneToOneField("oidc_provider.Client", on_delete=models.CASCADE, related_name="+")

    def __str__(self) -> str:
        return str(self.client)
