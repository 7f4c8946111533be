from django.contrib.auth.views import LoginView
from django.urls import include, path, re_path

from tests.oidc_provider import views

urlpatterns = [
    path("login/", LoginView.as_view(), name="login"),
    # Before django-oidc-provider's own, which it wraps (the discovery document names this address).
    re_path(r"^openid/userinfo/?$", views.userinfo),
    path("openid/", include("oidc_provider.urls", namespace="oidc_provider")),
]
