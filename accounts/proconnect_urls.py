"""Sign-in with ProConnect: /oidc/... (hdh_access/urls.py). The names are mozilla-django-oidc's own:
the library builds the callback's address from ``oidc_authentication_callback``. Both views answer
404 while ProConnect is off; the sign-out is the site's (``logout``), which ends ProConnect's session too."""

from django.urls import path

from accounts.proconnect import ProConnectCallbackView, ProConnectRequestView

urlpatterns = [
    path("authenticate/", ProConnectRequestView.as_view(), name="oidc_authentication_init"),
    path("callback/", ProConnectCallbackView.as_view(), name="oidc_authentication_callback"),
]
