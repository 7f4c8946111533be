"""Accounts: sign-up and email confirmation, profile, the user's organisation (members approve
newcomers), password reset and change.

Sign-in and sign-out are Django's views (hdh_access/urls.py), guarded by django-axes.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from access_requests.form_tokens import once_per_form
from accounts import selectors, services
from accounts.forms import (
    ApiTokenForm,
    DsfrPasswordChangeForm,
    DsfrPasswordResetForm,
    DsfrSetPasswordForm,
    ProfileForm,
    SignUpForm,
)
from accounts.models import Profile
from accounts.people import person_name

# The backend of a sign-in without a password (the confirmation link): the project's ModelBackend.
MODEL_BACKEND = "accounts.permissions.CachedPermissionsBackend"


@sensitive_post_parameters("password1", "password2")
@never_cache
@require_http_methods(["GET", "POST"])
def sign_up(request):
    if request.user.is_authenticated:
        return redirect("portal:list")
    form = SignUpForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            # The form normalised the organisation name with the service's rule (accounts.names).
            services.sign_up(
                email=data["email"], first_name=data["first_name"], last_name=data["last_name"],
                password=data["password1"], organisation_name=data["organisation"],
                language=translation.get_language() or settings.LANGUAGE_CODE)
            request.session["signup_email"] = data["email"]
            return redirect("accounts:signup_done")
    return render(request, "accounts/signup.html", {"form": form}, status=status)


@require_GET
def sign_up_done(request):
    return render(request, "accounts/signup_done.html", {"email": request.session.get("signup_email", "")})


@never_cache
@require_http_methods(["GET", "POST"])
def confirm(request, uidb64: str, token: str):
    """GET shows a button (mail scanners that follow links do not activate accounts); POST activates."""
    user = services.user_from_link(uidb64, token)
    if request.method == "GET":
        if user is None:
            return render(request, "accounts/confirm.html", {"valid": False}, status=400)
        return render(request, "accounts/confirm.html", {"valid": True, "already_active": user.is_active,
                                                         "confirm_email": user.email})
    user = services.confirm_email(uidb64=uidb64, token=token)
    login(request, user, backend=MODEL_BACKEND)
    messages.success(request, _("Votre adresse est confirmée : bienvenue ! Vous pouvez préparer votre première demande."))
    pending = services.pending_membership(user)
    if pending is not None:
        messages.info(request, _(
            "Votre demande de rattachement à l'organisation « %(organisation)s » a été transmise à ses membres et au "
            "secrétariat du HDH. Vous verrez ses demandes une fois votre rattachement accepté.")
            % {"organisation": pending.organisation.name})
    return redirect("portal:list")


@login_required
@require_http_methods(["GET", "POST"])
def profile(request):
    stored = Profile.objects.select_related("organisation", "data_holder").filter(user=request.user).first()
    may_subscribe = services.can_subscribe_to_weekly_report(request.user)
    initial = {"language": stored.language if stored else settings.LANGUAGE_CODE,
               "weekly_report": stored.weekly_report if stored else False}
    form = ProfileForm(request.POST or None, initial=initial, may_subscribe=may_subscribe)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            language = form.cleaned_data["language"]
            services.update_profile(
                actor=request.user, language=language,
                weekly_report=form.cleaned_data.get("weekly_report") if may_subscribe else None)
            translation.activate(language)
            messages.success(request, _("Profil enregistré."))
            response = redirect("accounts:profile")
            response.set_cookie(settings.LANGUAGE_COOKIE_NAME, language, max_age=settings.LANGUAGE_COOKIE_AGE,
                                path=settings.LANGUAGE_COOKIE_PATH, domain=settings.LANGUAGE_COOKIE_DOMAIN,
                                secure=settings.LANGUAGE_COOKIE_SECURE, httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
                                samesite=settings.LANGUAGE_COOKIE_SAMESITE)
            return response
    return _profile_page(request, form=form, profile=stored, may_subscribe=may_subscribe, status=status)


def _profile_page(request, *, form=None, profile=None, may_subscribe=None, token_form=None, status: int = 200):
    if form is None:
        profile = Profile.objects.select_related("organisation", "data_holder").filter(user=request.user).first()
        may_subscribe = services.can_subscribe_to_weekly_report(request.user)
        form = ProfileForm(initial={"language": profile.language if profile else settings.LANGUAGE_CODE,
                                    "weekly_report": profile.weekly_report if profile else False},
                           may_subscribe=may_subscribe)
    return render(request, "accounts/profile.html", {
        "form": form, "profile": profile, "may_subscribe": may_subscribe,
        "pending": services.pending_membership(request.user),
        "api_tokens": selectors.api_tokens_of(request.user), "token_form": token_form or ApiTokenForm(),
        # A token just created is shown once, on the page the creation redirects to.
        "new_api_token": request.session.pop(NEW_TOKEN_SESSION_KEY, None),
    }, status=status)


NEW_TOKEN_SESSION_KEY = "accounts.new_api_token"


@never_cache
@login_required
@require_POST
@once_per_form
def create_api_token(request):
    """A new personal API token (docs/api.md), shown once on the profile page."""
    form = ApiTokenForm(request.POST, auto_id="token-%s")
    if not form.is_valid():
        return _profile_page(request, token_form=form, status=400)
    _token, raw = services.create_api_token(actor=request.user, name=form.cleaned_data["name"],
                                            scope=form.cleaned_data["scope"], days=form.cleaned_data["days"])
    request.session[NEW_TOKEN_SESSION_KEY] = raw
    return redirect(reverse("accounts:profile") + "#api-tokens")


@login_required
@require_POST
@once_per_form
def revoke_api_token(request, token_id: int):
    token = services.revoke_api_token(actor=request.user, token_id=token_id)
    messages.success(request, _("Le jeton « %(name)s » est révoqué : il ne donne plus accès à l'API.")
                     % {"name": token.name})
    return redirect(reverse("accounts:profile") + "#api-tokens")


@login_required
@require_GET
def organisation(request):
    """The user's organisation: its members and the requests to join it they may decide; or the
    user's own request to join, while it waits."""
    profile = Profile.objects.select_related("organisation").filter(user=request.user).first()
    joined = profile.organisation if profile else None
    return render(request, "accounts/organisation.html", {
        "organisation": joined,
        "members": selectors.members_of(joined) if joined else [],
        "requests": selectors.pending_requests_to_join(joined) if joined else [],
        "pending": services.pending_membership(request.user),
        "refused": selectors.last_refusal(request.user) if joined is None else None,
    })


@login_required
@require_POST
def decide_membership(request, membership_id: int, decision: str):
    """Approve or refuse a request to join (a member of the organisation; the service checks)."""
    if decision == "approve":
        membership = services.approve_membership(actor=request.user, membership_id=membership_id)
        messages.success(request, _("%(name)s a rejoint l'organisation « %(organisation)s ».") % {
            "name": person_name(membership.user),
            "organisation": membership.organisation.name})
    else:
        membership = services.refuse_membership(actor=request.user, membership_id=membership_id)
        messages.success(request, _("La demande de %(name)s est refusée.") % {
            "name": person_name(membership.user)})
    return redirect("accounts:organisation")


# --- Django's password views, in the DSFR look and this namespace --------------------------------
password_reset = auth_views.PasswordResetView.as_view(
    template_name="accounts/password_reset_form.html",
    form_class=DsfrPasswordResetForm,
    email_template_name="accounts/emails/password_reset.txt",
    html_email_template_name="accounts/emails/password_reset.html",
    subject_template_name="accounts/emails/password_reset_subject.txt",
    success_url=reverse_lazy("accounts:password_reset_done"),
)
password_reset_done = auth_views.PasswordResetDoneView.as_view(template_name="accounts/password_reset_done.html")
password_reset_confirm = auth_views.PasswordResetConfirmView.as_view(
    template_name="accounts/password_reset_confirm.html",
    form_class=DsfrSetPasswordForm,
    success_url=reverse_lazy("accounts:password_reset_complete"),
)
password_reset_complete = auth_views.PasswordResetCompleteView.as_view(
    template_name="accounts/password_reset_complete.html")
password_change = auth_views.PasswordChangeView.as_view(
    template_name="accounts/password_change_form.html",
    form_class=DsfrPasswordChangeForm,
    success_url=reverse_lazy("accounts:password_change_done"),
)
password_change_done = auth_views.PasswordChangeDoneView.as_view(template_name="accounts/password_change_done.html")
