"""Account forms: sign-up, profile, and Django's password forms in the DSFR look."""

from __future__ import annotations

import unicodedata

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.forms import PasswordChangeForm, PasswordResetForm, SetPasswordForm
from django.utils.translation import gettext_lazy as _

from accounts import services
from accounts.models import ApiScope
from accounts.names import clean_organisation_name
from hdh_access.lib.dsfr_forms import DsfrForm

AccountForm = DsfrForm


class SignUpForm(AccountForm):
    email = forms.EmailField(
        label=_("Adresse électronique professionnelle"), max_length=150,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        help_text=_("Un lien de confirmation y sera envoyé."))
    first_name = forms.CharField(label=_("Prénom"), max_length=150,
                                 widget=forms.TextInput(attrs={"autocomplete": "given-name"}))
    last_name = forms.CharField(label=_("Nom"), max_length=150,
                                widget=forms.TextInput(attrs={"autocomplete": "family-name"}))
    # No max_length here: the limit applies to the normalised name (clean_organisation).
    organisation = forms.CharField(
        label=_("Organisation (responsable de traitement)"),
        widget=forms.TextInput(attrs={"autocomplete": "organization"}),
        help_text=_("Son nom exact si elle est déjà inscrite : un de ses membres ou le secrétariat du HDH "
                    "validera votre rattachement, puis vous verrez et modifierez ses demandes avec vos collègues. "
                    "Sinon, elle sera créée."))
    password1 = forms.CharField(
        label=_("Mot de passe"), strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("Au moins 8 caractères, pas uniquement des chiffres, ni trop courant, ni proche de votre nom."))
    password2 = forms.CharField(
        label=_("Confirmation du mot de passe"), strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))

    def clean_email(self):
        return services.normalise_email(self.cleaned_data["email"])

    def clean_organisation(self):
        return clean_organisation_name(self.cleaned_data["organisation"])

    def clean(self):
        cleaned = super().clean()
        password1, password2 = cleaned.get("password1"), cleaned.get("password2")
        if password1 and password2 and password1 != password2:
            self.add_error("password2", _("Les deux mots de passe ne sont pas identiques."))
        elif password1:
            probe = get_user_model()(username=cleaned.get("email") or "", email=cleaned.get("email") or "",
                                     first_name=cleaned.get("first_name") or "", last_name=cleaned.get("last_name") or "")
            try:
                password_validation.validate_password(password1, probe)
            except forms.ValidationError as error:
                self.add_error("password1", error)
        return cleaned


class ProfileForm(AccountForm):
    language = forms.ChoiceField(label=_("Langue de l'interface et des courriels"), choices=settings.LANGUAGES,
                                 widget=forms.RadioSelect)
    weekly_report = forms.BooleanField(
        label=_("Recevoir chaque semaine le rapport des délais par courriel"), required=False)

    def __init__(self, *args, may_subscribe: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if not may_subscribe:
            del self.fields["weekly_report"]


class ApiTokenForm(AccountForm):
    """A new API token (accounts.services.create_api_token checks the values again)."""

    name = forms.CharField(label=_("Nom du jeton"), max_length=100,
                           help_text=_("Pour le reconnaître : l'outil ou le script qui l'utilise."),
                           error_messages={"required": _("Donnez un nom au jeton.")})
    scope = forms.ChoiceField(label=_("Portée"), choices=ApiScope.choices, initial=ApiScope.READ,
                              widget=forms.RadioSelect)
    days = forms.IntegerField(label=_("Validité (jours)"), min_value=1, max_value=365, initial=90)


class DsfrPasswordResetForm(AccountForm, PasswordResetForm):
    def get_users(self, email):
        """Django's, without its "usable password" condition: an account made by a ProConnect
        sign-in has no password and may set one this way (local passwords stay possible)."""
        wanted = unicodedata.normalize("NFKC", email).casefold()
        users = get_user_model()._default_manager.filter(email__iexact=email, is_active=True)
        return (user for user in users if unicodedata.normalize("NFKC", user.email).casefold() == wanted)

    def send_mail(self, subject_template_name, email_template_name, context, from_email, to_email,
                  html_email_template_name=None) -> None:
        """Through the outbox, like every email (the templates are the view's, by convention)."""
        services.send_password_reset(to=to_email, context=context)


class DsfrSetPasswordForm(AccountForm, SetPasswordForm):
    pass


class DsfrPasswordChangeForm(AccountForm, PasswordChangeForm):
    pass
