"""Forms of the back office: queue filters, the actions on a request, messages and internal notes,
external experts, assignment, dashboard, merging organisations.

Action forms only validate input; the view passes the cleaned data to the service named by
``service_name``, which checks the state, the role and the rules. Each action form carries the
state the reviewer saw (``expected_state``), so a reviewer acting on a request someone else has
just moved gets a clear ConcurrentUpdate instead of acting on a state they never saw.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.db.models import Model
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

from access_requests import services
from access_requests.models import CesreesOpinion
from access_requests.services.messages import MAX_MESSAGE_ATTACHMENTS, MESSAGE_MAX_LENGTH
from access_requests.workflow import (
    RECORDED_OPINIONS,
    REVIEWER_ROLES,
    HolderTaskState,
    InformationReason,
    Route,
    State,
)
from accounts.models import Organisation
from accounts.people import display_name
from backoffice.models import NAME_MAX_LENGTH
from backoffice.selectors import Badge, QueueFilters, Scope, saved_filters
from catalog.models import DataHolder
from delays.labels import STATUS_LABELS
from delays.models import ExchangeKind
from hdh_access.lib.choice_fields import ShortModelChoiceField
from hdh_access.lib.upload_fields import MultipleFileField

if TYPE_CHECKING:  # a lazy translation or a str (django-stubs; a dev dependency)
    from django_stubs_ext import StrOrPromise
from catalog.selectors import dataset_list

BADGE_LABELS = {
    Badge.OVERDUE: _("Délai légal dépassé"),
    Badge.DUE_SOON: _("Échéance proche"),
    Badge.ON_TIME: _("Dans les délais"),
    Badge.NO_CLOCK: _("Sans délai légal"),
    "paused": _("Horloge suspendue"),
}
SCOPE_LABELS = {
    Scope.QUEUE: _("À traiter par mon équipe"),
    Scope.PAUSED: _("En attente du demandeur"),
    Scope.OPEN: _("Toutes les demandes en cours (avant mise à disposition)"),
    Scope.ALL: _("Toutes, y compris terminées"),
    Scope.ARCHIVED: _("Archivées (terminées depuis longtemps)"),
    Scope.FOLLOWED: _("Mes dossiers suivis"),
}
DEFAULT_SORT = "due"
SORT_LABELS = {
    DEFAULT_SORT: _("Échéance légale la plus proche"),
    "waiting": _("Attente la plus longue dans l'étape"),
    "submitted": _("Dépôt le plus ancien"),
    "reference": _("Référence"),
}


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")


def _choices(mapping: dict, *, empty=None) -> list:
    items = list(mapping.items())
    return ([("", empty)] if empty is not None else []) + items


# --- queue filters ------------------------------------------------------------------------------

class PeriodDateField(forms.DateField):
    """A filter date within a plausible range: 0001-01-01 or 9999-12-31 would overflow the queries."""

    earliest = dt.date(2000, 1, 1)
    latest = dt.date(2100, 12, 31)

    def clean(self, value):
        day = super().clean(value)
        if day is not None and not (self.earliest <= day <= self.latest):
            raise forms.ValidationError(_("Choisissez une date entre 2000 et 2100."), code="out_of_range")
        return day

class QueueFilterForm(forms.Form):
    q = forms.CharField(label=_("Rechercher"), required=False, max_length=100,
                        help_text=_("Référence, titre, organisation ou personne (demandeur, instructeur)"))
    scope = forms.ChoiceField(label=_("Demandes"), required=False, choices=_choices(SCOPE_LABELS))
    state = forms.ChoiceField(
        label=_("État"), required=False,
        choices=[("", _("Tous"))] + [(v, label) for v, label in State.choices if v != State.DRAFT])
    route = forms.ChoiceField(label=_("Procédure"), required=False, choices=[("", _("Toutes")), *Route.choices])
    dataset = ShortModelChoiceField(label=_("Base demandée"), required=False, queryset=dataset_list(),
                                     empty_label=_("Toutes"))
    holder = ShortModelChoiceField(label=_("Détenteur"), required=False, queryset=DataHolder.objects.order_by("name"),
                                    empty_label=_("Tous"))
    badge = forms.ChoiceField(label=_("Délai légal"), required=False,
                              choices=_choices({k: v for k, v in BADGE_LABELS.items() if k != "paused"}, empty=_("Tous")))
    status = forms.ChoiceField(label=_("Objectif de 7 mois"), required=False, choices=_choices(STATUS_LABELS, empty=_("Tous")))
    assignee = forms.ChoiceField(label=_("Instructeur"), required=False, choices=[
        ("", _("Tous")), ("me", _("Moi")), ("none", _("Personne"))])
    submitted_from = PeriodDateField(label=_("Déposée à partir du"), required=False, widget=DateInput())
    submitted_to = PeriodDateField(label=_("Déposée jusqu'au"), required=False, widget=DateInput())
    sort = forms.ChoiceField(label=_("Trier par"), required=False, choices=_choices(SORT_LABELS))

    def __init__(self, *args, default_scope: str = Scope.QUEUE, **kwargs):
        super().__init__(*args, **kwargs)
        self.default_scope = default_scope

    def clean(self):
        data = super().clean() or {}
        start, end = data.get("submitted_from"), data.get("submitted_to")
        if start and end and start > end:
            self.add_error("submitted_to", _("La fin de la période précède son début."))
        return data

    def filters(self) -> QueueFilters:
        """The valid filters (a field with an error is ignored, and the page says so)."""
        if not self.is_bound:
            return QueueFilters(scope=self.default_scope)
        self.is_valid()
        data = self.cleaned_data
        return QueueFilters(
            scope=data.get("scope") or self.default_scope,
            q=data.get("q") or "",
            state=data.get("state") or "",
            route=data.get("route") or "",
            dataset_id=data["dataset"].pk if data.get("dataset") else None,
            holder_id=data["holder"].pk if data.get("holder") else None,
            badge=data.get("badge") or "",
            status=data.get("status") or "",
            assignee=data.get("assignee") or "",
            submitted_from=data.get("submitted_from"),
            submitted_to=data.get("submitted_to") if "submitted_to" not in self.errors else None,
            sort=data.get("sort") or DEFAULT_SORT,
        )


# Values that mean the same as no value (QueueFilterForm.filters): the page's form always sends them.
QUERY_DEFAULTS = {"sort": DEFAULT_SORT}


def normalised_query(form: QueueFilterForm) -> str:
    """The querystring of the filters ``form`` validated, in the form's field order: empty fields,
    default values and fields with an error left out, a dataset or holder by its id, a date as
    YYYY-MM-DD, no page number. What a saved filter stores; the same filters always give the same
    string."""
    if not form.is_bound:
        return ""
    form.is_valid()
    pairs = []
    for name in form.fields:
        value = form.cleaned_data.get(name)
        if name in form.errors or value in (None, "") or QUERY_DEFAULTS.get(name) == value:
            continue
        if isinstance(value, Model):
            value = value.pk
        elif isinstance(value, dt.date):
            value = value.isoformat()
        pairs.append((name, str(value)))
    return urlencode(pairs)


def invalid_filter_labels(form: QueueFilterForm) -> list[str]:
    """The labels of the fields of ``form`` whose value does not validate (bound forms only)."""
    if not form.is_bound or form.is_valid():
        return []
    return [str(form.fields[name].label) for name in form.fields if name in form.errors]


class SaveFilterForm(forms.Form):
    """Save the queue's current filters under a name (the filters come from the page's query)."""

    name = forms.CharField(label=_("Nom du filtre"), max_length=NAME_MAX_LENGTH,
                           help_text=_("Par exemple « CNIL en retard » : il s'affiche au-dessus de la liste."),
                           error_messages={"required": _("Donnez un nom à ce filtre.")})

    def __init__(self, *args, user, filter_form: QueueFilterForm | None = None, exclude_pk: int | None = None,
                 **kwargs):
        super().__init__(*args, **kwargs)
        self.user, self.filter_form, self.exclude_pk = user, filter_form, exclude_pk

    def clean_name(self) -> str:
        name = " ".join(self.cleaned_data["name"].split())
        if not name:
            raise forms.ValidationError(_("Donnez un nom à ce filtre."), code="required")
        taken = saved_filters(self.user).filter(name=name)
        if self.exclude_pk is not None:
            taken = taken.exclude(pk=self.exclude_pk)
        if taken.exists():
            raise forms.ValidationError(
                _("Vous avez déjà un filtre nommé « %(name)s » : choisissez un autre nom."), code="duplicate",
                params={"name": name})
        return name

    def clean(self):
        data = super().clean() or {}
        if self.filter_form is not None and self.filter_form.is_bound and not self.filter_form.is_valid():
            raise forms.ValidationError(_("Certains filtres sont invalides : corrigez-les avant d'enregistrer."),
                                        code="invalid_filters")
        return data


class RenameFilterForm(SaveFilterForm):
    name = forms.CharField(label=_("Nouveau nom"), max_length=NAME_MAX_LENGTH,
                           error_messages={"required": _("Donnez un nom à ce filtre.")})


# --- actions on a request -----------------------------------------------------------------------
class ActionForm(forms.Form):
    """One action of the back office; ``perform`` calls the service with the state the user saw."""

    action = ""
    service_name = ""
    title: StrOrPromise = ""
    submit_label: StrOrPromise = _("Valider")
    help_text: StrOrPromise = ""
    danger = False

    expected_state = forms.ChoiceField(choices=State.choices, widget=forms.HiddenInput)

    def service_kwargs(self) -> dict:
        return {}

    def perform(self, *, request_id: int, actor):
        service = getattr(services, self.service_name)
        return service(request_id=request_id, actor=actor, expected_state=self.cleaned_data["expected_state"],
                       acting_as=REVIEWER_ROLES, **self.service_kwargs())


COMMENT_LABEL = _("Commentaire (facultatif)")
COMMENT_HELP = _("Visible par le demandeur dans l'historique de sa demande et dans le courriel qu'il reçoit. "
                 "Pour une remarque interne, utilisez les notes internes.")


def _comment(label=COMMENT_LABEL, *, required=False, help_text=COMMENT_HELP):
    return forms.CharField(label=label, required=required, max_length=5000, help_text=help_text,
                           widget=forms.Textarea(attrs={"rows": 3}))


class CommentActionForm(ActionForm):
    comment = _comment()

    def service_kwargs(self) -> dict:
        return {"comment": self.cleaned_data["comment"]}


class ForwardToCesreesForm(CommentActionForm):
    action = service_name = "forward_to_cesrees"
    title = _("Déclarer le dossier recevable")
    submit_label = _("Déclarer recevable et transmettre au CESREES")
    help_text = _("Le dossier est complet : il part au CESREES, dont le délai d'un mois court dès réception.")
    field_order = ["expected_state", "urgent", "comment"]

    urgent = forms.BooleanField(label=_("Procédure d'urgence (15 jours)"), required=False,
                                help_text=_("Le CESREES rend alors son avis dans les 15 jours au lieu d'un mois."))

    def service_kwargs(self) -> dict:
        return {**super().service_kwargs(), "urgent": self.cleaned_data["urgent"]}


class ApproveWithoutReviewForm(CommentActionForm):
    action = service_name = "approve_without_review"
    title = _("Valider sans examen")
    submit_label = _("Valider et passer au conventionnement")
    help_text = _("Méthodologie de référence ou accès simplifié : pas d'avis du CESREES ni d'autorisation CNIL.")


class RequestInformationForm(ActionForm):
    action = service_name = "request_information"
    title = _("Demander des compléments")
    submit_label = _("Envoyer la demande de compléments")
    help_text = _("Le dossier revient au demandeur : l'horloge s'arrête jusqu'à sa réponse.")

    reason = forms.ChoiceField(
        label=_("Motif de la demande"), widget=forms.RadioSelect, choices=InformationReason.choices,
        help_text=_("Un dossier incomplet fait repartir le délai de l'étape à la réponse du demandeur."),
        error_messages={"required": _("Choisissez le motif de la demande de compléments."),
                        "invalid_choice": _("Ce motif n'existe pas : choisissez l'un des motifs proposés.")})
    question = forms.CharField(label=_("Question posée au demandeur"), max_length=5000,
                               widget=forms.Textarea(attrs={"rows": 4}))

    def service_kwargs(self) -> dict:
        return {"question": self.cleaned_data["question"], "reason": self.cleaned_data["reason"]}


class _EndingForm(ActionForm):
    """An action that ends the request, with a reason the applicant reads."""

    danger = True
    reason_label: StrOrPromise = ""

    reason = forms.CharField(max_length=5000, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].label = self.reason_label

    def service_kwargs(self) -> dict:
        return {"reason": self.cleaned_data["reason"]}


class RejectForm(_EndingForm):
    action = service_name = "reject"
    title = _("Déclarer le dossier irrecevable")
    submit_label = _("Refuser la demande")
    help_text = _("La demande prend fin. Le motif est communiqué au demandeur.")
    reason_label = _("Motif du refus")


class WithdrawForm(_EndingForm):
    action = service_name = "withdraw"
    title = _("Enregistrer le retrait de la demande")
    submit_label = _("Enregistrer le retrait")
    help_text = _("À la demande écrite du demandeur. La demande prend fin.")
    reason_label = _("Motif du retrait")


class CesreesOpinionForm(ActionForm):
    action = service_name = "record_cesrees_opinion"
    title = _("Enregistrer l'avis du CESREES")
    submit_label = _("Enregistrer l'avis")
    help_text = _("Le dossier passe à la CNIL. Sans avis dans le délai, l'avis est réputé favorable.")

    opinion = forms.ChoiceField(label=_("Avis"), widget=forms.RadioSelect, choices=[
        (v, CesreesOpinion(v).label) for v in RECORDED_OPINIONS])
    comment = _comment(_("Recommandations ou motifs"),
                       help_text=_("Obligatoire sauf pour un avis favorable sans recommandation."))

    def clean(self):
        data = super().clean() or {}
        if data.get("opinion") and data["opinion"] != CesreesOpinion.FAVOURABLE and not (data.get("comment") or "").strip():
            self.add_error("comment", _("Précisez les recommandations ou les motifs de cet avis."))
        return data

    def service_kwargs(self) -> dict:
        return {"opinion": self.cleaned_data["opinion"], "comment": self.cleaned_data["comment"]}


class ExtendReviewForm(CommentActionForm):
    action = service_name = "extend_review"
    title = _("Prolonger le délai d'examen")
    submit_label = _("Prolonger le délai")
    help_text = _("Une seule fois : un mois de plus pour le CESREES, deux mois pour la CNIL.")


class CnilDecisionForm(ActionForm):
    action = service_name = "record_cnil_decision"
    title = _("Enregistrer la décision de la CNIL")
    submit_label = _("Enregistrer la décision")
    help_text = _("Une autorisation ouvre le conventionnement ; un refus met fin à la demande.")

    decision = forms.ChoiceField(label=_("Décision"), widget=forms.RadioSelect, choices=[
        ("authorised", _("Autorisation")), ("refused", _("Refus"))])
    decision_number = forms.CharField(label=_("Numéro de la décision"), max_length=64)
    decision_date = forms.DateField(label=_("Date de la décision"), widget=DateInput())
    comment = _comment()

    def clean_decision_date(self):
        value = self.cleaned_data["decision_date"]
        if value > timezone.localdate():
            raise forms.ValidationError(_("La date de décision ne peut pas être dans le futur."))
        if value < dt.date(2016, 1, 1):
            raise forms.ValidationError(_("Cette date de décision n'est pas plausible."))
        return value

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        return {"authorised": data["decision"] == "authorised", "decision_number": data["decision_number"],
                "decision_date": data["decision_date"], "comment": data["comment"]}


class ContractSignedForm(CommentActionForm):
    action = service_name = "record_contract_signed"
    title = _("Convention signée")
    submit_label = _("Enregistrer la signature de la convention")
    help_text = _("La demande passe à l'appariement si des sources sont liées, sinon à l'extraction.")


class MatchingDoneForm(CommentActionForm):
    action = service_name = "record_matching_done"
    title = _("Appariement réalisé")
    submit_label = _("Enregistrer l'appariement et lancer l'extraction")


class DeliverForm(CommentActionForm):
    action = service_name = "deliver"
    title = _("Extraction réalisée, données mises à disposition")
    submit_label = _("Enregistrer la mise à disposition")
    help_text = _("Les données sont disponibles dans l'espace projet : le délai d'accès s'arrête.")


class CloseForm(CommentActionForm):
    action = service_name = "close"
    title = _("Clôturer le projet")
    submit_label = _("Clôturer")


ACTION_FORMS: dict[str, type[ActionForm]] = {
    form.action: form
    for form in (
        ForwardToCesreesForm, ApproveWithoutReviewForm, RequestInformationForm, CesreesOpinionForm,
        CnilDecisionForm, ExtendReviewForm, ContractSignedForm, MatchingDoneForm, DeliverForm, CloseForm,
        RejectForm, WithdrawForm,
    )
}


# --- actions on a data holder's task ---------------------------------------------------------------
class TaskActionForm(forms.Form):
    """One action on one holder task; ``perform`` calls services.act_on_task with the task state
    the user saw."""

    action = ""
    title: StrOrPromise = ""
    submit_label: StrOrPromise = _("Valider")
    help_text: StrOrPromise = ""

    expected_state = forms.ChoiceField(choices=HolderTaskState.choices, widget=forms.HiddenInput)
    comment = _comment()

    def perform(self, *, task_id: int, actor):
        return services.act_on_task(task_id=task_id, actor=actor, action=self.action,
                                    comment=self.cleaned_data["comment"],
                                    expected_state=self.cleaned_data["expected_state"], acting_as=REVIEWER_ROLES)


class TaskContractSignedForm(TaskActionForm):
    action = "record_contract_signed"
    title = ContractSignedForm.title
    submit_label = ContractSignedForm.submit_label
    help_text = _("Pour ce détenteur : appariement si des sources sont liées, sinon extraction. La demande avance "
                  "quand tous ses détenteurs ont signé.")


class TaskMatchingDoneForm(TaskActionForm):
    action = "record_matching_done"
    title = MatchingDoneForm.title
    submit_label = MatchingDoneForm.submit_label


class TaskDeliverForm(TaskActionForm):
    action = "deliver"
    title = DeliverForm.title
    submit_label = DeliverForm.submit_label
    help_text = _("Les données de ce détenteur sont dans l'espace projet. La demande est mise à disposition "
                  "quand tous ses détenteurs ont livré.")


TASK_ACTION_FORMS: dict[str, type[TaskActionForm]] = {
    form.action: form for form in (TaskContractSignedForm, TaskMatchingDoneForm, TaskDeliverForm)
}


class TaskDueDateForm(forms.Form):
    due_date = PeriodDateField(label=_("Nouvelle échéance"), widget=DateInput(),
                               error_messages={"required": _("Choisissez la nouvelle échéance.")})
    comment = forms.CharField(label=_("Motif (facultatif)"), required=False, max_length=5000,
                              widget=forms.Textarea(attrs={"rows": 2}))


# --- messages, experts and assignment ------------------------------------------------------------
class MessageForm(forms.Form):
    """A message of the thread: to the applicant's team, or an internal note of the reviewers."""

    body = forms.CharField(label=_("Message"), max_length=MESSAGE_MAX_LENGTH,
                           help_text=_("Le demandeur le lit dans son espace, sauf si c'est une note interne."),
                           error_messages={"required": _("Écrivez le message avant de l'envoyer.")},
                           widget=forms.Textarea(attrs={"rows": 4}))
    internal = forms.BooleanField(
        label=_("Note interne"), required=False,
        help_text=_("Visible des seules équipes d'instruction, jamais du demandeur."))
    documents = MultipleFileField(
        label=_("Pièces jointes (facultatif)"), max_files=MAX_MESSAGE_ATTACHMENTS,
        help_text=_("PDF, ODT ou DOCX, 20 Mo au plus chacun, 5 fichiers au plus."))


class ExpertInvitationForm(forms.Form):
    email = forms.EmailField(
        label=_("Adresse électronique de l'expert"), max_length=254,
        help_text=_("L'expert reçoit un lien personnel pour lire ce dossier (sans les notes internes), sans compte."),
        error_messages={"required": _("Saisissez l'adresse électronique de l'expert."),
                        "invalid": _("Saisissez une adresse électronique valide.")})


def _user_label(user: Any) -> str:
    return display_name(user)


class AssignForm(forms.Form):
    assignee: forms.ModelChoiceField[Any] = ShortModelChoiceField(label=_("Instructeur"), required=False, queryset=None,
                                      empty_label=_("Personne"), error_messages={
                                          "invalid_choice": _("Cette personne ne peut pas instruire cette demande.")})

    def __init__(self, *args, candidates, **kwargs):
        super().__init__(*args, **kwargs)
        field = cast("forms.ModelChoiceField[Any]", self.fields["assignee"])
        field.queryset = candidates
        field.label_from_instance = _user_label  # type: ignore[assignment]  # an instance override, as Django documents


# --- dashboard ----------------------------------------------------------------------------------
class DashboardFilterForm(forms.Form):
    submitted_from = PeriodDateField(label=_("Déposées à partir du"), required=False, widget=DateInput())
    submitted_to = PeriodDateField(label=_("Déposées jusqu'au"), required=False, widget=DateInput())
    dataset = ShortModelChoiceField(label=_("Base demandée"), required=False, queryset=dataset_list(),
                                     empty_label=_("Toutes"))

    def clean(self):
        data = super().clean() or {}
        start, end = data.get("submitted_from"), data.get("submitted_to")
        if start and end and start > end:
            self.add_error("submitted_to", _("La fin de la période précède son début."))
        return data



# --- organisations ------------------------------------------------------------------------------
class MergeOrganisationsForm(forms.Form):
    """Merge a duplicate organisation into the one kept (accounts.services.merge_organisations)."""

    source: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        label=_("Organisation en double (supprimée après la fusion)"), queryset=Organisation.objects.order_by("name"))
    target: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        label=_("Organisation conservée (reçoit ses membres et ses demandes)"),
        queryset=Organisation.objects.order_by("name"))

    def clean(self):
        data = super().clean() or {}
        if data.get("source") is not None and data.get("source") == data.get("target"):
            self.add_error("target", _("Choisissez deux organisations différentes."))
        return data


# --- the roadmap's records (secretariat) --------------------------------------------------------
class PartnershipForm(forms.Form):
    name = forms.CharField(label=_("Intitulé"), max_length=200)
    partner = forms.CharField(label=_("Partenaire (infrastructure de données)"), max_length=200)
    signed_on = forms.DateField(label=_("Signé le"), widget=forms.DateInput(attrs={"type": "date"}))
    notes = forms.CharField(label=_("Notes (internes)"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


class ExchangeForm(forms.Form):
    held_on = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}))
    title = forms.CharField(label=_("Intitulé"), max_length=200)
    kind = forms.ChoiceField(label=_("Type"), choices=ExchangeKind.choices, initial=ExchangeKind.MEETING)
    audience = forms.CharField(label=_("Public"), max_length=200, required=False)
