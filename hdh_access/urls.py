from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from . import views

# The admin's sign-in says how long to wait after failures, like the site's (hdh_access/lockout.py).
admin.site.login_form = views.AdminLoginForm

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/login/", views.LoginView.as_view(), name="login"),
    path("accounts/start/", views.start, name="start"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/", include("accounts.urls")),
    path("portal/", include("portal.urls")),
    path("backoffice/", include("backoffice.urls")),
    path("admin/", admin.site.urls),
]
