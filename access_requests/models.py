"""Access requests, their append-only event log, their attachments, the messages of their thread
(reviewers' internal notes included) and the invitations of external experts."""

from __future__ import annotations

import hashlib
import os

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.core.files.storage import FileSystemStorage
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import GET_STATE, ConcurrentTransitionMixin, FSMField, transition

from access_requests.exceptions import EventLogImmutable
from access_requests.references import REFERENCE_MAX_LENGTH, REFERENCE_REGEX, reference_validator
from access_requests.roles import task_roles, user_roles
from access_requests.workflow import (
    PAUSABLE_STATES,
    TASK_TRANSITIONS,
    TRANSITIONS,
    CesreesOpinion,
    EventAction,
    HolderTaskState,
    Role,
    Route,
    State,
    condition_holds,
    roles_for,
    task_condition_refusal,
)

__all__ = ["AccessRequest", "Attachment", "AttachmentKind", "CesreesOpinion", "Event", "EventAction",
           "ExpertInvitation", "Follow", "HolderTask", "HolderTaskEvent", "HolderTaskState", "Message", "MessageKind",
           "MessageReceipt", "ReferenceSequence", "private_storage"]
from catalog.models import DataHolder, Dataset


def _fsm(name: str) -> dict:
    """django-fsm ``transition`` arguments for the spec ``name`` of workflow.TRANSITIONS."""
    spec = TRANSITIONS[name]
    target: str | GET_STATE
    if spec.target is None:
        target = GET_STATE(lambda instance, *args, **kwargs: instance.paused_from, states=PAUSABLE_STATES)
    else:
        target = spec.target

    def condition(instance) -> bool:
        to = instance.paused_from if spec.target is None else spec.target
        return condition_holds(
            instance.state, to, requires_matching=instance.requires_matching,
            route=instance.route, paused_from=instance.paused_from,
        )

    def permission(instance, user) -> bool:
        return bool(user_roles(user, instance) & roles_for(spec, instance.state))

    condition.__name__ = f"{name}_condition"
    permission.__name__ = f"{name}_permission"
    return {
        "field": "state", "source": list(spec.sources), "target": target,
        "conditions": [condition], "permission": permission,
        "custom": {"label": spec.label},
    }


class AccessRequest(ConcurrentTransitionMixin, models.Model):
    """A research project's request for access to catalogue data, moving along the pathway.

    Transition methods hold rules and field updates only. Every write goes through
    ``access_requests.services``, which locks, checks permissions, saves and logs the event.
    """

    reference = models.CharField(_("référence"), max_length=REFERENCE_MAX_LENGTH, unique=True,
                                 validators=[reference_validator])
    title = models.CharField(_("titre"), max_length=300)
    summary = models.TextField(_("résumé"), blank=True)
    public_interest = models.TextField(_("justification de l'intérêt public"), blank=True)
    methodology = models.TextField(_("méthodologie"), blank=True)
    team_members = models.TextField(_("membres de l'équipe"), blank=True)
    expected_start = models.DateField(_("début souhaité"), null=True, blank=True)
    organisation = models.ForeignKey(
        "accounts.Organisation", null=True, blank=True, on_delete=models.PROTECT, related_name="requests",
        verbose_name=_("organisation demandeuse"),
    )
    applicant = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
        related_name="access_requests", verbose_name=_("porteur de projet"),
    )
    datasets = models.ManyToManyField(Dataset, blank=True, related_name="access_requests", verbose_name=_("bases demandées"))
    brings_own_data = models.BooleanField(_("apporte des données propres à apparier"), default=False)
    requires_matching = models.BooleanField(_("appariement nécessaire"), default=False)
    route = models.CharField(_("procédure"), max_length=32, choices=Route.choices, default=Route.STANDARD)
    state = FSMField(_("état"), max_length=32, choices=State.choices, default=State.DRAFT, protected=True, db_index=True)
    paused_from = models.CharField(_("étape suspendue"), max_length=32, choices=State.choices, blank=True)
    cesrees_opinion = models.CharField(_("avis du CESREES"), max_length=40, choices=CesreesOpinion.choices, blank=True)
    cesrees_extended = models.BooleanField(_("délai CESREES prolongé"), default=False)
    cnil_extended = models.BooleanField(_("délai CNIL renouvelé"), default=False)
    cnil_decision_number = models.CharField(_("numéro de décision CNIL"), max_length=64, blank=True)
    cnil_decision_date = models.DateField(_("date de décision CNIL"), null=True, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="assigned_requests",
        verbose_name=_("instructeur"),
    )
    # What the public directory publishes once the request is decided (access_requests.publication):
    # a summary the applicant's team writes for the public, and the link to the published results.
    public_summary = models.TextField(_("résumé public"), blank=True)
    results_url = models.URLField(_("lien vers les résultats publiés"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("créée le"), auto_now_add=True)
    updated_at = models.DateTimeField(_("modifiée le"), auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        # The database refuses a reference outside the pattern too (a raw write, a bulk import).
        constraints = [models.CheckConstraint(condition=models.Q(reference__regex=REFERENCE_REGEX),
                                              name="access_request_reference_pattern")]
        verbose_name = _("demande d'accès")
        verbose_name_plural = _("demandes d'accès")
        permissions = [
            ("act_as_secretariat", _("Agir comme secrétariat du HDH")),
            ("act_as_cesrees", _("Agir comme CESREES")),
            ("act_as_cnil", _("Agir comme CNIL")),
            ("act_as_data_holder", _("Agir comme détenteur de données")),
            ("act_as_platform", _("Agir comme équipe plateforme")),
            ("view_all_requests", _("Consulter toutes les demandes")),
        ]

    def __str__(self) -> str:
        return f"{self.reference} — {self.title}"

    # --- relations used by permissions -------------------------------------------------
    def is_applicant(self, user) -> bool:
        if self.applicant_id is not None and self.applicant_id == user.pk:
            return True
        profile = getattr(user, "profile", None) if _has_profile(user) else None
        return bool(profile and profile.organisation_id and profile.organisation_id == self.organisation_id)

    def concerns_holder_of(self, user) -> bool:
        profile = user.profile if _has_profile(user) else None
        if profile is None or profile.data_holder_id is None:
            return False
        return self.datasets.filter(holder_id=profile.data_holder_id).exists()

    # --- transitions: rules and field updates only -------------------------------------
    @transition(**_fsm("submit"))
    def submit(self) -> None:
        pass

    @transition(**_fsm("withdraw"))
    def withdraw(self) -> None:
        self.paused_from = ""

    @transition(**_fsm("request_information"))
    def request_information(self) -> None:
        self.paused_from = self.state

    @transition(**_fsm("resume"))
    def resume(self) -> None:
        # The target is read from paused_from by GET_STATE after this method returns,
        # so paused_from is cleared by the service once the state has changed.
        pass

    @transition(**_fsm("forward_to_cesrees"))
    def forward_to_cesrees(self) -> None:
        pass

    @transition(**_fsm("approve_without_review"))
    def approve_without_review(self) -> None:
        pass

    @transition(**_fsm("reject"))
    def reject(self) -> None:
        pass

    @transition(**_fsm("record_cesrees_opinion"))
    def record_cesrees_opinion(self, opinion: str) -> None:
        self.cesrees_opinion = opinion

    @transition(**_fsm("authorise"))
    def authorise(self, decision_number: str, decision_date) -> None:
        self.cnil_decision_number = decision_number
        self.cnil_decision_date = decision_date

    @transition(**_fsm("start_matching"))
    def start_matching(self) -> None:
        pass

    @transition(**_fsm("start_extraction"))
    def start_extraction(self) -> None:
        pass

    @transition(**_fsm("deliver"))
    def deliver(self) -> None:
        pass

    @transition(**_fsm("close"))
    def close(self) -> None:
        pass


def _has_profile(user) -> bool:
    try:
        user.profile  # noqa: B018
    except (AttributeError, ObjectDoesNotExist):
        return False
    return True


class ReferenceSequence(models.Model):
    """The last number given to a request reference in a year (HDH-YYYY-NNNN)."""

    year = models.PositiveIntegerField(primary_key=True)
    last = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.year}: {self.last}"


class EventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise EventLogImmutable(str(_("Le journal des événements est en ajout seul.")))

    def delete(self):
        raise EventLogImmutable(str(_("Le journal des événements est en ajout seul.")))

    def bulk_update(self, objs, fields, batch_size=None):
        raise EventLogImmutable(str(_("Le journal des événements est en ajout seul.")))



class AppendOnly(models.Model):
    """A log row: written once, never updated nor deleted (the ORM refuses here and in
    ``EventQuerySet``; database triggers refuse too). ``Event`` and ``HolderTaskEvent``."""

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise EventLogImmutable(str(_("Le journal des événements est en ajout seul.")))
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise EventLogImmutable(str(_("Le journal des événements est en ajout seul.")))


class Event(AppendOnly):
    """One entry in a request's history: a transition (or creation, or an extension).

    Append-only: the ORM refuses updates and deletes here, and on PostgreSQL and SQLite a
    trigger refuses them in the database too. The delays are computed from these rows.
    """

    # No index of its own: event_request_at_idx leads with it (one index less to write per event).
    request = models.ForeignKey(AccessRequest, on_delete=models.PROTECT, related_name="events", db_index=False)
    from_state = models.CharField(_("état de départ"), max_length=32, choices=State.choices, blank=True)
    to_state = models.CharField(_("état d'arrivée"), max_length=32, choices=State.choices)
    action = models.CharField(_("action"), max_length=40, choices=EventAction.choices)
    at = models.DateTimeField(_("instant"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        verbose_name=_("acteur"), db_index=False,  # indexed where set only: Meta.indexes
    )
    role = models.CharField(_("rôle"), max_length=32, choices=Role.choices)
    comment = models.TextField(_("commentaire"), blank=True)
    payload = models.JSONField(_("données"), default=dict, blank=True)

    objects = EventQuerySet.as_manager()

    class Meta:
        ordering = ["at", "id"]
        indexes = [
            models.Index(fields=["request", "at", "id"], name="event_request_at_idx"),
            # The public directory's dates: the first arrival in each of these states (publication.py).
            models.Index(fields=["request", "to_state", "at"], name="event_public_dates_idx",
                         condition=models.Q(to_state__in=["submitted", "contracting", "delivered"])),
            # A user's events (the PROTECT check when an account is deleted): imports and the
            # system write most events without an actor, and those need no entry here.
            models.Index(fields=["actor"], name="event_actor_idx", condition=models.Q(actor__isnull=False)),
        ]
        verbose_name = _("événement")
        verbose_name_plural = _("événements")

    def __str__(self) -> str:
        return f"{self.request_id}: {self.from_state or '∅'} → {self.to_state} @ {self.at.isoformat()}"



def _task_fsm(name: str) -> dict:
    """django-fsm ``transition`` arguments for the spec ``name`` of workflow.TASK_TRANSITIONS."""
    spec = TASK_TRANSITIONS[name]

    def condition(instance) -> bool:
        return task_condition_refusal(instance.state, str(spec.target),
                                      requires_matching=instance.requires_matching) is None

    def permission(instance, user) -> bool:
        return bool(task_roles(user, instance) & spec.roles)

    condition.__name__ = f"task_{name}_condition"
    permission.__name__ = f"task_{name}_permission"
    return {
        "field": "state", "source": list(spec.sources), "target": spec.target,
        "conditions": [condition], "permission": permission, "custom": {"label": spec.label},
    }


class HolderTask(ConcurrentTransitionMixin, models.Model):
    """One data holder's part of a request after the decision: its contract, its matching (when
    the request links sources) and its extraction, with its own assignee and due date.

    Opened, one per holder of the request's datasets, when the request enters contracting; the
    request's post-decision state is its least advanced task's (workflow.request_state_of_tasks),
    and it is delivered when every task is. Writes go through access_requests.services.tasks.
    """

    # Neither has an index of its own: holder_task_one_per_holder leads with the request,
    # holder_task_queue_idx with the holder.
    request = models.ForeignKey(AccessRequest, on_delete=models.CASCADE, related_name="holder_tasks",
                                verbose_name=_("demande"), db_index=False)
    holder = models.ForeignKey(DataHolder, on_delete=models.PROTECT, related_name="tasks",
                               verbose_name=_("détenteur"), db_index=False)
    state = FSMField(_("état"), max_length=32, choices=HolderTaskState.choices, default=HolderTaskState.CONTRACTING,
                     protected=True, db_index=True)
    requires_matching = models.BooleanField(_("appariement nécessaire"), default=False)
    entered_at = models.DateTimeField(_("dans l'état depuis"), default=timezone.now)
    due_date = models.DateField(_("échéance"), null=True, blank=True)
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="assigned_holder_tasks", verbose_name=_("chargé de la tâche"))
    delivered_at = models.DateTimeField(_("mise à disposition le"), null=True, blank=True)
    created_at = models.DateTimeField(_("ouverte le"), default=timezone.now)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["request", "holder"], name="holder_task_one_per_holder")]
        indexes = [models.Index(fields=["holder", "state", "due_date"], name="holder_task_queue_idx")]
        verbose_name = _("tâche d'un détenteur")
        verbose_name_plural = _("tâches des détenteurs")

    def __str__(self) -> str:
        return f"{self.request_id} / {self.holder_id}: {self.state}"

    # --- transitions: rules and field updates only (the service sets the instants) -----
    @transition(**_task_fsm("start_matching"))
    def start_matching(self) -> None:
        pass

    @transition(**_task_fsm("start_extraction"))
    def start_extraction(self) -> None:
        pass

    @transition(**_task_fsm("deliver"))
    def deliver(self) -> None:
        pass


class HolderTaskEvent(AppendOnly):
    """One entry in a holder task's history: its opening, a transition, a due date or an
    assignee set. Append-only like ``Event`` (the ORM and the database refuse updates and
    deletes)."""

    # No index of its own: holder_task_event_idx leads with it.
    task = models.ForeignKey(HolderTask, on_delete=models.PROTECT, related_name="events", db_index=False)
    from_state = models.CharField(_("état de départ"), max_length=32, choices=HolderTaskState.choices, blank=True)
    to_state = models.CharField(_("état d'arrivée"), max_length=32, choices=HolderTaskState.choices)
    action = models.CharField(_("action"), max_length=40, choices=EventAction.choices)
    at = models.DateTimeField(_("instant"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        verbose_name=_("acteur"), db_index=False,  # indexed where set only: Meta.indexes
    )
    role = models.CharField(_("rôle"), max_length=32, choices=Role.choices)
    comment = models.TextField(_("commentaire"), blank=True)
    payload = models.JSONField(_("données"), default=dict, blank=True)

    objects = EventQuerySet.as_manager()

    class Meta:
        ordering = ["at", "id"]
        indexes = [
            models.Index(fields=["task", "at", "id"], name="holder_task_event_idx"),
            models.Index(fields=["actor"], name="holder_task_event_actor_idx", condition=models.Q(actor__isnull=False)),
        ]
        verbose_name = _("événement d'une tâche")
        verbose_name_plural = _("événements des tâches")

    def __str__(self) -> str:
        return f"{self.task_id}: {self.from_state or '∅'} → {self.to_state} @ {self.at.isoformat()}"



class PrivateStorage(FileSystemStorage):
    """Attachments live outside STATIC_ROOT and MEDIA_ROOT: only a view that checks rights serves them.

    The folder is read from settings.PRIVATE_MEDIA_ROOT at each use, so tests can move it.
    """

    def __init__(self):
        super().__init__(base_url=None)

    @property
    def base_location(self):
        return str(settings.PRIVATE_MEDIA_ROOT)

    @property
    def location(self):
        return os.path.abspath(self.base_location)


def private_storage():
    return PrivateStorage()


class AttachmentKind(models.TextChoices):
    PROTOCOL = "protocol", _("Protocole")
    DATA_MANAGEMENT_PLAN = "data_management_plan", _("Plan de gestion des données")
    CNIL_FORM = "cnil_form", _("Formulaire CNIL")
    OTHER = "other", _("Autre pièce")


class ScanStatus(models.TextChoices):
    """Where an attachment stands with the antivirus (clamd, HDH_CLAMAV_SOCKET)."""

    NOT_SCANNED = "not_scanned", _("Non analysée")  # stored without an antivirus configured: served
    PENDING = "pending", _("Analyse antivirus en cours")  # quarantined until clamd answers
    CLEAN = "clean", _("Saine")
    INFECTED = "infected", _("Virus détecté, contenu supprimé")
    ERROR = "error", _("Analyse antivirus en échec")  # clamd refused to scan it: quarantined


DOWNLOADABLE_SCAN_STATUSES = frozenset({ScanStatus.NOT_SCANNED, ScanStatus.CLEAN})


class Attachment(models.Model):
    """A document of the dossier (PDF, ODT or DOCX, checked by content), stored privately.

    With an antivirus configured it is quarantined (``scan_status`` pending) until clamd says
    it is clean; an infected one keeps its row (signature in ``scan_result``) without content.
    """

    request = models.ForeignKey(AccessRequest, on_delete=models.CASCADE, related_name="attachments")
    # Sent with a message of the thread (shown there, not among the dossier's documents); None: a
    # document of the dossier.
    message = models.ForeignKey("Message", null=True, blank=True, on_delete=models.CASCADE, related_name="attachments",
                                verbose_name=_("message"))
    kind = models.CharField(_("type de pièce"), max_length=32, choices=AttachmentKind.choices)
    file = models.FileField(_("fichier"), storage=private_storage, upload_to="attachments/%Y/%m/")
    original_name = models.CharField(_("nom du fichier"), max_length=255)
    content_type = models.CharField(_("type de contenu"), max_length=100)
    size = models.PositiveIntegerField(_("taille"))
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    uploaded_at = models.DateTimeField(_("déposé le"), auto_now_add=True)
    scan_status = models.CharField(_("analyse antivirus"), max_length=16, choices=ScanStatus.choices,
                                   default=ScanStatus.NOT_SCANNED, db_index=True)
    scanned_at = models.DateTimeField(_("analysée le"), null=True, blank=True)
    scan_result = models.CharField(_("résultat de l'analyse"), max_length=255, blank=True,
                                   help_text=_("Nom du virus détecté, ou raison de l'échec."))

    class Meta:
        ordering = ["uploaded_at", "id"]
        verbose_name = _("pièce jointe")
        verbose_name_plural = _("pièces jointes")

    def __str__(self) -> str:
        return self.original_name

    @property
    def is_downloadable(self) -> bool:
        """Not quarantined: scanned clean, or stored while no antivirus was configured."""
        return self.scan_status in DOWNLOADABLE_SCAN_STATUSES


class MessageKind(models.TextChoices):
    MESSAGE = "message", _("Message")
    INFORMATION_REQUEST = "information_request", _("Demande de compléments")
    ANSWER = "answer", _("Réponse à une demande de compléments")


class Message(models.Model):
    """One message of a request's thread, between the applicant's team and the reviewers.

    ``role`` says which side wrote it: ``Role.APPLICANT`` for the applicant's team, else the
    reviewer role the author acted in. ``internal`` messages are reviewers' notes: the applicant
    never sees them (the selectors leave them out). An information request and its answer are
    messages too (``kind``), linked to the event that stopped or resumed the clock.
    ``notified_at``: when the batched email about it was queued (notifications.dossier_messages);
    set at creation when the message needs no email of its own (an information request and its
    answer have their transition's email).
    """

    request = models.ForeignKey(AccessRequest, on_delete=models.CASCADE, related_name="messages")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                               related_name="+", verbose_name=_("auteur"))
    role = models.CharField(_("rôle"), max_length=32, choices=Role.choices)
    kind = models.CharField(_("nature"), max_length=32, choices=MessageKind.choices, default=MessageKind.MESSAGE)
    internal = models.BooleanField(_("note interne"), default=False,
                                   help_text=_("Visible des seules équipes d'instruction, jamais du demandeur."))
    body = models.TextField(_("message"))
    # No foreign key constraint in the database: the event log is append-only (its triggers refuse
    # any delete), and a constraint would stop the TRUNCATE the log's own trigger rules on.
    event = models.OneToOneField(Event, null=True, blank=True, on_delete=models.DO_NOTHING, db_constraint=False,
                                 related_name="message", verbose_name=_("événement"))
    created_at = models.DateTimeField(_("écrit le"), default=timezone.now, db_index=True)
    notified_at = models.DateTimeField(_("notifié le"), null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["request", "created_at", "id"], name="message_request_idx"),
                   models.Index(fields=["created_at"], condition=models.Q(notified_at__isnull=True),
                                name="message_unnotified_idx")]
        constraints = [models.CheckConstraint(
            condition=~models.Q(internal=True, role="applicant"), name="message_internal_by_reviewers")]
        verbose_name = _("message")
        verbose_name_plural = _("messages")

    def __str__(self) -> str:
        return f"{self.request_id}: {self.body[:40]}"

    @property
    def from_applicant(self) -> bool:
        return self.role == Role.APPLICANT


class MessageReceipt(models.Model):
    """Someone opened the dossier's page while this message was on it (a read receipt).

    ``role``: the side they read it from (``Role.APPLICANT``, or their reviewer role)."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="receipts")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    role = models.CharField(_("rôle"), max_length=32, choices=Role.choices)
    read_at = models.DateTimeField(_("lu le"), default=timezone.now)

    class Meta:
        ordering = ["read_at", "id"]
        constraints = [models.UniqueConstraint(fields=["message", "user"], name="message_receipt_once")]
        verbose_name = _("accusé de lecture")
        verbose_name_plural = _("accusés de lecture")

    def __str__(self) -> str:
        return f"{self.message_id} lu par {self.user_id}"

    @property
    def by_applicant(self) -> bool:
        return self.role == Role.APPLICANT


class ExpertInvitation(models.Model):
    """An external expert's read-only access to one dossier, by a link sent to ``email``.

    The link's token is never stored: only its SHA-256 (``token_hash``). The access ends at
    ``expires_at`` (HDH_EXPERT_ACCESS_DAYS after the invitation) or when a reviewer revokes it;
    each is an event of the request's log (``EventAction.INVITE_EXPERT``, ``REVOKE_EXPERT``).
    """

    request = models.ForeignKey(AccessRequest, on_delete=models.CASCADE, related_name="expert_invitations")
    email = models.EmailField(_("adresse électronique de l'expert"))
    token_hash = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField(_("valable jusqu'au"))
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("invité par"))
    created_at = models.DateTimeField(_("invité le"), default=timezone.now)
    revoked_at = models.DateTimeField(_("révoquée le"), null=True, blank=True)
    revoked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+", verbose_name=_("révoquée par"))
    last_seen_at = models.DateTimeField(_("dernière consultation"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("invitation d'expert")
        verbose_name_plural = _("invitations d'experts")

    def __str__(self) -> str:
        return f"{self.request_id}: {self.email}"

    @staticmethod
    def hash_token(token: str) -> str:
        """What is stored of a link's token: its SHA-256, in hexadecimal."""
        return hashlib.sha256(token.encode()).hexdigest()

    def is_active(self, at=None) -> bool:
        """Neither revoked nor expired at ``at`` (now by default)."""
        return self.revoked_at is None and (at or timezone.now()) < self.expires_at


class Follow(models.Model):
    """A reviewer follows a request: they get an email for each event on it that they did not make
    themselves (notifications.messages), as long as they may still read it. A personal choice, not
    a step of the dossier: no event row (services.follow, services.unfollow)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="follows")
    request = models.ForeignKey(AccessRequest, on_delete=models.CASCADE, related_name="follows")
    created_at = models.DateTimeField(_("suivie depuis le"), default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [models.UniqueConstraint(fields=["user", "request"], name="follow_once_per_user")]
        verbose_name = _("suivi d'une demande")
        verbose_name_plural = _("suivis de demandes")

    def __str__(self) -> str:
        return f"{self.user_id} follows {self.request_id}"


class FormSubmission(models.Model):
    """A one-time form token, claimed by the first post that carried it, and the redirect that post
    answered: a second post of the same token answers it again (access_requests.form_tokens)."""

    token = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    result_url = models.CharField(max_length=2000, blank=True)
    status = models.PositiveSmallIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.user_id}: {self.token} → {self.status} {self.result_url}"
