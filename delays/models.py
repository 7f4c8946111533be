"""Delay measures materialised from the event log (delays.materialise writes them)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from access_requests.workflow import State
from delays import rules

# The RequestDelay column holding the days spent in each stage.
STAGE_FIELDS: dict[str, str] = {stage: f"days_{stage}" for stage in rules.STAGES}
# The rows the delay statistics are computed over: target requests (needing matching), delivered.
TARGET_DELIVERED = Q(requires_matching=True, delivered_at__isnull=False)


def _value_indexes() -> list[models.Index]:
    """Partial indexes over the delivered target rows, by each value a percentile is read from
    (delays.summary locates the row in its histogram, then reads it through these). The one by
    Paris delivery quarter is PostgreSQL's only (delays migration 0002)."""
    indexes = [
        models.Index(fields=[field], condition=TARGET_DELIVERED & Q(**{f"{field}__gt": 0}), name=f"delay_{stage}_idx")
        for stage, field in STAGE_FIELDS.items()
    ]
    institution = F("elapsed_days") - F("applicant_days")
    return [
        *indexes,
        models.Index(fields=["elapsed_days"], condition=TARGET_DELIVERED, name="delay_elapsed_idx"),
        # The columns included: the percentile's value read from the index alone (index-only scan).
        models.Index(institution, condition=TARGET_DELIVERED, include=["elapsed_days", "applicant_days"],
                     name="delay_institution_idx"),
        # The dashboard's late and at-risk lists, and when the open rows' forecasts were computed.
        models.Index(fields=["deadline", "request"], condition=Q(ended_at__isnull=True, requires_matching=True),
                     name="delay_open_target_idx"),
        models.Index(fields=["computed_at"], condition=Q(ended_at__isnull=True), name="delay_open_computed_idx"),
    ]


class RequestDelay(models.Model):
    """A request's delay measures, materialised from its events by delay_service.

    Recomputed after every committed transition (one request, from its own events), in bulk
    after an import, and nightly for open requests. The values are exact as of
    ``computed_at``; for an open request they move linearly with time in the current stage
    until its next event, which is what the report uses to evaluate them at any instant
    after ``last_event_at``.
    """

    request = models.OneToOneField("access_requests.AccessRequest", on_delete=models.CASCADE, primary_key=True, related_name="delay")
    requires_matching = models.BooleanField(default=False)
    state = models.CharField(max_length=32, choices=State.choices)
    submitted_at = models.DateTimeField(db_index=True)
    delivered_at = models.DateTimeField(null=True, blank=True, db_index=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    last_event_at = models.DateTimeField()
    deadline = models.DateField()
    elapsed_days = models.FloatField()
    applicant_days = models.FloatField()
    days_submitted = models.FloatField(default=0.0)
    days_cesrees_review = models.FloatField(default=0.0)
    days_cnil_review = models.FloatField(default=0.0)
    days_contracting = models.FloatField(default=0.0)
    days_matching = models.FloatField(default=0.0)
    days_extraction = models.FloatField(default=0.0)
    days_awaiting_applicant = models.FloatField(default=0.0)
    # The open stay (blank once the request ended) and, while waiting on the applicant,
    # the stage it was paused from.
    current_stage = models.CharField(max_length=32, blank=True)
    current_since = models.DateTimeField(null=True, blank=True)
    paused_stage = models.CharField(max_length=32, blank=True)
    current_due_date = models.DateField(null=True, blank=True)
    target_met = models.BooleanField(null=True)
    status = models.CharField(max_length=16, db_index=True)
    forecast_at = models.DateTimeField(null=True, blank=True)
    # Every stage visit with its statutory clock: [{stage, start, end, days, due_date,
    # tacit_decision, tacit_effect_date}], instants in ISO 8601.
    visits = models.JSONField(default=list)
    computed_at = models.DateTimeField()

    class Meta:
        db_table = "access_requests_requestdelay"  # moved from access_requests, table kept
        verbose_name = _("délai d'une demande")
        verbose_name_plural = _("délais des demandes")
        indexes = [models.Index(fields=["requires_matching", "delivered_at"], name="delay_target_delivered_idx"),
                   *_value_indexes()]

    def __str__(self) -> str:
        return f"{self.request_id}: {self.status}"


#: The width, in days, of the summary's histograms that locate a percentile's row (DelaySummary.day
#: of the ``stage``, ``elapsed``, ``institution``, ``quarter`` and ``holder_days`` measures holds
#: the lower bound of a bucket): fewer summary rows to add up, a few more index entries to skip.
HISTOGRAM_DAYS = 7


def histogram_day_sql(days: str) -> str:
    """The SQL of the histogram bucket (its first day) of the number of days ``days``."""
    return f"(floor(({days}) / {HISTOGRAM_DAYS}.0) * {HISTOGRAM_DAYS})::integer"


class DelaySummary(models.Model):
    """The dashboard's figures kept up to date (PostgreSQL): counts and sums of RequestDelay rows
    by measure, quarter and day, maintained by ``delays.summary`` in the transaction that writes
    the rows (one request's recompute moves its old contribution out and its new one in).

    ``measure`` (``delays.summary`` says what each holds): a stage's days, ``elapsed``,
    ``institution`` (delivered target requests, by Paris delivery quarter and whole day of the
    value: a per-day histogram that locates the rows a percentile reads), ``cohort`` (target
    requests by submission quarter, ``day`` 1 when delivered) and the open requests
    (``open*``, by submission quarter, current stage and deadline day).
    """

    measure = models.CharField(max_length=24)
    stage = models.CharField(max_length=32, blank=True, default="")
    quarter = models.DateField()
    day = models.IntegerField()
    count = models.BigIntegerField(default=0)
    total = models.DecimalField(max_digits=40, decimal_places=12, default=0)
    met = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["measure", "stage", "quarter", "day"],
                                               name="delay_summary_key")]

    def __str__(self) -> str:
        return f"{self.measure} {self.stage} {self.quarter} {self.day}: {self.count}"


class HolderTaskCount(models.Model):
    """How the dashboard's summary counts one data-holder task (PostgreSQL): what the task was at
    its request's last delay recompute (``delays.holders.COUNT_SQL`` writes it from the task,
    the rule "last to deliver" included). The summary's holder measures are counts of these rows
    (``delays.summary``), so a recompute moves the old state out and the new one in even though
    the task itself changed before it."""

    task = models.OneToOneField("access_requests.HolderTask", on_delete=models.CASCADE, primary_key=True,
                                related_name="+")
    request_id = models.BigIntegerField(db_index=True)
    holder_id = models.BigIntegerField()
    created_at = models.DateTimeField(db_index=True)
    delivered = models.BooleanField()
    # Delivered: the whole days from opening to delivery (``delays.holders.DAYS_SQL``, floored).
    day = models.IntegerField(null=True)
    # Delivered last of a multi-holder request whose every task is delivered (ties each counted).
    last = models.BooleanField()
    # Not delivered, of a request neither withdrawn nor refused.
    open = models.BooleanField()
    due_date = models.DateField(null=True)

    def __str__(self) -> str:
        return f"task {self.pk} of holder {self.holder_id}"


class DelayBaseline(models.Model):
    """Median stage durations of delivered requests, for forecasts: one row per population
    (``target``: requests that need matching; ``other``: the rest).

    Kept in one row so that recomputing one request does not aggregate the whole table
    (its cost depends on its own events only). Refreshed nightly and after imports.
    """

    key = models.CharField(max_length=32, primary_key=True, default="target")
    medians = models.JSONField(default=dict)
    computed_at = models.DateTimeField()

    class Meta:
        db_table = "access_requests_delaybaseline"  # moved from access_requests, table kept

    def __str__(self) -> str:
        return f"{self.key} @ {self.computed_at:%Y-%m-%d}"


# --- the roadmap's indicators that the secretariat records (delays.indicators reads them) ----------
class Partnership(models.Model):
    """A new partnership with a local or shared data infrastructure (the roadmap: 40+), as the HDH
    secretariat records it (``delays.services.record_partnership``)."""

    name = models.CharField(_("intitulé"), max_length=200)
    partner = models.CharField(_("partenaire"), max_length=200)
    signed_on = models.DateField(_("signé le"))
    notes = models.TextField(_("notes"), blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                                    verbose_name=_("enregistré par"))
    recorded_at = models.DateTimeField(_("enregistré le"))

    class Meta:
        ordering = ["-signed_on", "-pk"]
        verbose_name = _("partenariat avec une infrastructure de données")
        verbose_name_plural = _("partenariats avec des infrastructures de données")

    def __str__(self) -> str:
        return f"{self.name} ({self.partner}, {self.signed_on})"


class ExchangeKind(models.TextChoices):
    CONSULTATION = "consultation", _("Consultation")
    DEBATE = "debate", _("Débat public")
    WORKSHOP = "workshop", _("Atelier")
    MEETING = "meeting", _("Réunion")
    OTHER = "other", _("Autre")


class CivilSocietyExchange(models.Model):
    """An exchange with civil society (patients' associations, citizens, public debate: the
    roadmap's "three times more"), as the HDH secretariat records it
    (``delays.services.record_exchange``)."""

    held_on = models.DateField(_("date"))
    title = models.CharField(_("intitulé"), max_length=200)
    kind = models.CharField(_("type"), max_length=16, choices=ExchangeKind.choices, default=ExchangeKind.MEETING)
    audience = models.CharField(_("public"), max_length=200, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                                    verbose_name=_("enregistré par"))
    recorded_at = models.DateTimeField(_("enregistré le"))

    class Meta:
        ordering = ["-held_on", "-pk"]
        verbose_name = _("échange avec la société civile")
        verbose_name_plural = _("échanges avec la société civile")

    def __str__(self) -> str:
        return f"{self.title} ({self.held_on})"
