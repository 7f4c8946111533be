"""Forms of the applicant portal. They validate input; the services decide and write."""

from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from access_requests.models import AttachmentKind
from access_requests.publication import PUBLIC_SUMMARY_MAX_LENGTH, RESULTS_URL_MAX_LENGTH
from access_requests.services.messages import MAX_MESSAGE_ATTACHMENTS, MESSAGE_MAX_LENGTH
from access_requests.workflow import Route, State
from hdh_access.lib.choice_fields import ListedChoiceIterator
from hdh_access.lib.dsfr_forms import DsfrForm
from hdh_access.lib.upload_fields import ACCEPTED_TYPES, MAX_NAME_LENGTH, MultipleFileField, check_file_name
from portal.selectors import catalogue

LONG_TEXT = 20_000


PortalForm = DsfrForm


class DatasetChoiceField(forms.ModelMultipleChoiceField):
    iterator = ListedChoiceIterator  # the catalogue in one plain query (hdh_access.lib.choice_fields)

    def label_from_instance(self, obj):
        return obj.name

    def _check_values(self, value):
        # An id that is not a small whole number is refused here, before it reaches a query
        # (a 30-digit id overflows PostgreSQL's bigint: a 500).
        for pk in value:
            text = str(pk)
            if not text.isdigit() or len(text) > 18:
                raise forms.ValidationError(self.error_messages["invalid_pk_value"], code="invalid_pk_value",
                                            params={"pk": text[:40]})
        return super()._check_values(value)  # type: ignore[misc]  # not in django-stubs


def _textarea(rows: int = 5, **attrs) -> forms.Textarea:
    return forms.Textarea(attrs={"rows": rows, **attrs})


class DraftForm(PortalForm):
    title = forms.CharField(label=_("Titre du projet"), max_length=300)
    summary = forms.CharField(
        label=_("Résumé du projet"), required=False, max_length=LONG_TEXT, widget=_textarea(5),
        help_text=_("Objectifs, population étudiée, résultats attendus."))
    public_interest = forms.CharField(
        label=_("Justification de l'intérêt public"), required=False, max_length=LONG_TEXT, widget=_textarea(5),
        help_text=_("En quoi le projet sert l'intérêt public (santé publique, recherche, évaluation)."))
    methodology = forms.CharField(
        label=_("Méthodologie"), required=False, max_length=LONG_TEXT, widget=_textarea(6),
        help_text=_("Schéma d'étude, variables, méthodes statistiques, minimisation des données."))
    route = forms.ChoiceField(
        label=_("Procédure"), choices=Route.choices, initial=Route.STANDARD, widget=forms.RadioSelect,
        help_text=_("Une méthodologie de référence (MR-004) n'autorise pas l'appariement de plusieurs sources."))
    datasets = DatasetChoiceField(
        label=_("Bases de données demandées"), queryset=catalogue(), required=False,
        widget=forms.CheckboxSelectMultiple)
    brings_own_data = forms.BooleanField(
        label=_("Nous apportons des données propres à apparier avec les bases demandées"), required=False)
    team_members = forms.CharField(
        label=_("Membres de l'équipe"), required=False, max_length=LONG_TEXT, widget=_textarea(4),
        help_text=_("Une personne par ligne : nom, fonction, organisme."))
    expected_start = forms.DateField(
        label=_("Début souhaité du projet"), required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))

    def clean_expected_start(self):
        value = self.cleaned_data.get("expected_start")
        if value and value < timezone.localdate() and value != self.initial.get("expected_start"):
            raise forms.ValidationError(_("La date de début souhaitée ne peut pas être passée."))
        return value

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("route") == Route.REFERENCE_METHODOLOGY and (
            len(cleaned.get("datasets") or []) > 1 or cleaned.get("brings_own_data")
        ):
            self.add_error("route", _("Une méthodologie de référence ne permet pas d'apparier plusieurs sources : "
                                      "choisissez la procédure standard ou une seule base sans données propres."))
        return cleaned


class AttachmentForm(PortalForm):
    kind = forms.ChoiceField(label=_("Type de pièce"), choices=AttachmentKind.choices)
    file = forms.FileField(
        label=_("Fichier"), allow_empty_file=True,
        help_text=_("PDF, ODT ou DOCX, 20 Mo au plus. Le type est vérifié d'après le contenu du fichier."),
        widget=forms.FileInput(attrs={"accept": ACCEPTED_TYPES}))

    def clean_file(self):
        return check_file_name(self.cleaned_data["file"])


class _ExpectedStateForm(PortalForm):
    """Carries the state the user saw, so a service refuses to act on a state changed since."""

    expected_state = forms.ChoiceField(choices=State.choices, widget=forms.HiddenInput)


class SubmitForm(_ExpectedStateForm):
    certify = forms.BooleanField(
        label=_("Je certifie que les informations et les pièces du dossier sont exactes et complètes."),
        error_messages={"required": _("Cochez la case de certification pour déposer la demande.")})


def _message_files() -> MultipleFileField:
    return MultipleFileField(
        label=_("Pièces jointes (facultatif)"), max_files=MAX_MESSAGE_ATTACHMENTS,
        help_text=_("PDF, ODT ou DOCX, 20 Mo au plus chacun, 5 fichiers au plus. Le type est vérifié d'après le "
                    "contenu du fichier."))


class AnswerForm(_ExpectedStateForm):
    answer = forms.CharField(
        label=_("Votre réponse"), max_length=MESSAGE_MAX_LENGTH, widget=_textarea(6),
        help_text=_("Elle est transmise aux instructeurs et reste dans la messagerie de la demande."),
        error_messages={"required": _("Rédigez votre réponse avant de l'envoyer.")})
    documents = _message_files()


class MessageForm(PortalForm):
    """A message to the reviewers (the thread of the request)."""

    body = forms.CharField(
        label=_("Votre message"), max_length=MESSAGE_MAX_LENGTH, widget=_textarea(4),
        help_text=_("Les instructeurs en sont avertis par courriel."),
        error_messages={"required": _("Rédigez votre message avant de l'envoyer.")})
    documents = _message_files()


class WithdrawForm(_ExpectedStateForm):
    reason = forms.CharField(label=_("Motif du retrait"), required=False, max_length=2000, widget=_textarea(3))


class PublicSummaryForm(PortalForm):
    """The summary the public directory publishes (access_requests.publication), until the decision."""

    public_summary = forms.CharField(
        label=_("Résumé public : objectif et intérêt public du projet"), required=False,
        max_length=PUBLIC_SUMMARY_MAX_LENGTH, widget=_textarea(5),
        help_text=_("Publié dans le répertoire public des projets dès l'autorisation. Écrivez pour le grand public ; "
                    "n'y mettez aucun nom de personne ni donnée personnelle."))


class ResultsUrlForm(PortalForm):
    """The link to the project's published results, once the request is public."""

    results_url = forms.URLField(label=_("Lien vers les résultats publiés"), required=False,
                                 max_length=RESULTS_URL_MAX_LENGTH, assume_scheme="https",
                                 help_text=_("Adresse web d'un article, d'un rapport ou d'un dépôt de données "
                                             "(https://…). Laissez vide pour retirer le lien."))


# The portal list's sorts: value -> label (selectors.LIST_SORTS orders by them).
LIST_SORT_LABELS = {
    "": _("Priorité (action attendue d'abord)"),
    "reference": _("Référence (croissante)"),
    "-reference": _("Référence (décroissante)"),
    "title": _("Titre (A à Z)"),
    "-title": _("Titre (Z à A)"),
    "state": _("Étape (ordre de la procédure)"),
    "-state": _("Étape (ordre inverse)"),
    "-created": _("Création (plus récentes d'abord)"),
    "created": _("Création (plus anciennes d'abord)"),
    "-updated": _("Dernière modification (plus récentes d'abord)"),
    "updated": _("Dernière modification (plus anciennes d'abord)"),
}


class RequestListForm(PortalForm):
    """The portal list's GET form: a search and a sort; a bad value is an error, never a 500."""

    q = forms.CharField(label=_("Rechercher une demande"), required=False, max_length=MAX_NAME_LENGTH,
                        help_text=_("Référence ou titre, sans tenir compte des majuscules ni des accents"))
    sort = forms.ChoiceField(label=_("Trier par"), required=False, choices=list(LIST_SORT_LABELS.items()))

    def values(self) -> tuple[str, str]:
        """The valid (q, sort); a field with an error falls back to its default."""
        if not self.is_bound:
            return "", ""
        self.is_valid()
        data = self.cleaned_data
        return (data.get("q") or "").strip(), data.get("sort") or ""

