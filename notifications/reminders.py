"""Reminders of statutory due dates, once a working day, to the members of the stage's roles."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from delays.clock import visit_clock
from delays.models import RequestDelay
from hdh_access.lib.dates import add_working_days, is_working_day, paris_date
from notifications.messages import lazy_label, queue_for, queue_members, request_context
from notifications.models import OutboxMessage

# --- reminders -----------------------------------------------------------------------------
REMINDER_DUE_SOON = "due_soon"
REMINDER_OVERDUE = "overdue"


def _working_days_between(start: dt.date, end: dt.date) -> int:
    """Working days after ``start`` up to and including ``end`` (0 when end <= start)."""
    count, day = 0, start
    subdiv = settings.HDH_HOLIDAYS_SUBDIV
    while day < end:
        day += dt.timedelta(days=1)
        if is_working_day(day, subdiv):
            count += 1
    return count


def queue_reminders(*, now: dt.datetime | None = None) -> list[OutboxMessage]:
    """Remind the members of a stage's roles of a statutory due date: once when it is
    ``HDH_REMINDER_WORKING_DAYS`` working days away or nearer, once when it is past.

    Keyed by (request, entry into the stage, kind, recipient): each reminder goes once per
    stage visit however often this runs. Runs on working days only (a no-op otherwise).
    """
    now = now or timezone.now()
    today = paris_date(now)
    subdiv = settings.HDH_HOLIDAYS_SUBDIV
    if not is_working_day(today, subdiv):
        return []
    horizon = add_working_days(today, settings.HDH_REMINDER_WORKING_DAYS, subdiv)
    rows = (
        RequestDelay.objects.filter(ended_at__isnull=True, current_due_date__isnull=False,
                                    current_due_date__lte=horizon, current_since__isnull=False)
        .select_related("request", "request__organisation").order_by("current_due_date", "request_id")
    )
    created: list[OutboxMessage] = []
    for delay in rows:
        request = delay.request
        # The query asked for both (the row's open stage has a clock).
        assert delay.current_due_date is not None and delay.current_since is not None
        if request.state != delay.current_stage:  # a stale row: the request moved on
            continue
        overdue = today > delay.current_due_date
        kind = REMINDER_OVERDUE if overdue else REMINDER_DUE_SOON
        visit = visit_clock(delay.visits[-1], now) if delay.visits else None
        context = {
            **request_context(request), "state": delay.current_stage, "state_label": lazy_label(delay.current_stage),
            "overdue": overdue,
            "due_date": delay.current_due_date, "since": delay.current_since,
            "days_left": _working_days_between(today, delay.current_due_date),
            "days_late": (today - delay.current_due_date).days,
            "tacit_decision": visit.tacit_decision if visit else None,
            "tacit_effect_date": visit.tacit_effect_date if visit else None,
        }
        stamp = int(delay.current_since.timestamp() * 1_000_000)
        members = queue_members(request, delay.current_stage, exclude_pk=None)
        with transaction.atomic():
            created += queue_for(members, key_prefix=f"reminder:{kind}:{request.pk}:{stamp}", name="reminder",
                                  context=context)
    return created


