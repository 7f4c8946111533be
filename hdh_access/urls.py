from django.contrib import admin
from django.urls import include, path

from . import error_pages, views

# The admin's sign-in says how long to wait after failures, like the site's (hdh_access/lockout.py).
admin.site.login_form = views.AdminLoginForm

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/login/", views.LoginView.as_view(), name="login"),
    path("accounts/start/", views.start, name="start"),
    path("accounts/logout/", views.LogoutView.as_view(), name="logout"),
    path("accounts/", include("accounts.urls")),
    # Sign-in with ProConnect (accounts/proconnect.py); 404 while it is not configured.
    path("oidc/", include("accounts.proconnect_urls")),
    path("portal/", include("portal.urls")),
    path("backoffice/", include("backoffice.urls")),
    # An external expert's read-only view of one dossier, by the link of their invitation.
    path("expert/", include("backoffice.expert_urls")),
    path("admin/", admin.site.urls),
    # The REST API, its OpenAPI schema and Swagger UI (api/, docs/api.md).
    path("api/", include("api.urls")),
    # The public directory of projects and the roadmap's indicators (directory/, no sign-in).
    path("", include("directory.urls")),
    # The pages every public service has, linked from the footer (stable French addresses).
    path("accessibilite/", views.accessibility, name="accessibility"),
    path("mentions-legales/", views.legal_notice, name="legal_notice"),
    path("donnees-personnelles/", views.personal_data, name="personal_data"),
    path("cookies/", views.cookies, name="cookies"),
    path("plan-du-site/", views.sitemap, name="sitemap"),
]

# The site's error pages, in its layout and language (hdh_access/error_pages.py).
handler400 = error_pages.bad_request
handler403 = error_pages.permission_denied
handler404 = error_pages.page_not_found
handler500 = error_pages.server_error
