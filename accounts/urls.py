"""Accounts: /accounts/... (login and logout are in hdh_access/urls.py as ``login`` and ``logout``)."""

from django.urls import path

from accounts import views

app_name = "accounts"
urlpatterns = [
    path("signup/", views.sign_up, name="signup"),
    path("signup/done/", views.sign_up_done, name="signup_done"),
    path("confirm/<str:uidb64>/<str:token>/", views.confirm, name="confirm"),
    path("profile/", views.profile, name="profile"),
    path("profile/api-tokens/", views.create_api_token, name="create_api_token"),
    path("profile/api-tokens/<int:token_id>/revoke/", views.revoke_api_token, name="revoke_api_token"),
    path("organisation/", views.organisation, name="organisation"),
    path("organisation/requests/<int:membership_id>/approve/", views.decide_membership, {"decision": "approve"},
         name="approve_membership"),
    path("organisation/requests/<int:membership_id>/refuse/", views.decide_membership, {"decision": "refuse"},
         name="refuse_membership"),
    path("password-reset/", views.password_reset, name="password_reset"),
    path("password-reset/done/", views.password_reset_done, name="password_reset_done"),
    path("password-reset/complete/", views.password_reset_complete, name="password_reset_complete"),
    path("password-reset/<str:uidb64>/<str:token>/", views.password_reset_confirm, name="password_reset_confirm"),
    path("password-change/", views.password_change, name="password_change"),
    path("password-change/done/", views.password_change_done, name="password_change_done"),
]
