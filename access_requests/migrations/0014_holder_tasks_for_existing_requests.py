"""One holder task per data holder of each request that reached contracting.

A request in contracting, matching, extraction, delivered or closed (and a withdrawn one that had
reached contracting, as its event log says) gets one task per holder of its datasets, in the
request's post-decision state (closed: delivered). Each task's history is read from the
request's events: it opens when the request first entered contracting and follows each
post-decision state the request entered after it, with the same instant, action, actor, role and
comment; ``entered_at`` is the last of these instants, ``delivered_at`` the delivery's. The due
date is the opening date plus the holder's median (none yet) or HDH_HOLDER_DEFAULT_DAYS.

The rule is workflow.task_steps, copied here so that this migration keeps its meaning.
"""

import datetime as dt
import zoneinfo

from django.conf import settings
from django.db import migrations

TASK_ORDER = ("contracting", "matching", "extraction", "delivered")
REACHED = ("contracting", "matching", "extraction", "delivered", "closed", "withdrawn")
PARIS = zoneinfo.ZoneInfo("Europe/Paris")
BATCH = 500


def task_steps(events):
    """(from, to, event) for each step of a task, from its request's state-changing events."""
    steps = []
    current = ""
    for event in events:
        state = event.to_state
        if state not in TASK_ORDER:
            continue
        if not current:
            if state == "contracting":
                steps.append(("", state, event))
                current = state
            continue
        if TASK_ORDER.index(state) > TASK_ORDER.index(current):
            steps.append((current, state, event))
            current = state
    return steps


def forward(apps, schema_editor):
    AccessRequest = apps.get_model("access_requests", "AccessRequest")
    Event = apps.get_model("access_requests", "Event")
    HolderTask = apps.get_model("access_requests", "HolderTask")
    HolderTaskEvent = apps.get_model("access_requests", "HolderTaskEvent")
    Through = AccessRequest.datasets.through
    default_days = getattr(settings, "HDH_HOLDER_DEFAULT_DAYS", 180)
    ids = list(AccessRequest.objects.filter(state__in=REACHED).exclude(holder_tasks__isnull=False)
               .order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), BATCH):
        chunk = ids[start:start + BATCH]
        requests = {r.pk: r for r in AccessRequest.objects.filter(pk__in=chunk)}
        holders = {}
        for request_id, holder_id, median in (Through.objects.filter(accessrequest_id__in=chunk)
                                              .values_list("accessrequest_id", "dataset__holder_id",
                                                           "dataset__holder__median_delivery_days")):
            holders.setdefault(request_id, {})[holder_id] = median
        events = {}
        for event in Event.objects.filter(request_id__in=chunk).order_by("request_id", "at", "id"):
            if event.from_state != event.to_state:
                events.setdefault(event.request_id, []).append(event)
        for request_id in chunk:
            steps = task_steps(events.get(request_id, []))
            if not steps or not holders.get(request_id):
                continue
            request = requests[request_id]
            opened = steps[0][2].at
            last = steps[-1]
            delivered = next((event.at for _f, to, event in steps if to == "delivered"), None)
            for holder_id, median in sorted(holders[request_id].items()):
                days = median if median is not None else default_days
                task = HolderTask.objects.create(
                    request_id=request_id, holder_id=holder_id, state=last[1],
                    requires_matching=request.requires_matching, entered_at=last[2].at,
                    due_date=opened.astimezone(PARIS).date() + dt.timedelta(days=days),
                    delivered_at=delivered, created_at=opened)
                HolderTaskEvent.objects.bulk_create([
                    HolderTaskEvent(task_id=task.pk, from_state=from_state, to_state=to_state, action=event.action,
                                    at=event.at, actor_id=event.actor_id, role=event.role, comment=event.comment,
                                    payload={"request_event": event.pk})
                    for from_state, to_state, event in steps])


def backward(apps, schema_editor):
    HolderTaskEvent = apps.get_model("access_requests", "HolderTaskEvent")
    HolderTask = apps.get_model("access_requests", "HolderTask")
    HolderTaskEvent.objects.all().delete()
    HolderTask.objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("access_requests", "0013_holder_task"), ("catalog", "0004_pmsi_dataset")]
    operations = [migrations.RunPython(forward, backward)]
