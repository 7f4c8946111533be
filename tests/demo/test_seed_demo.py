"""seed_demo: every persona finds real work on first login, whenever the demo is seeded.

The queues are read through the back office's own selectors, as each persona; the delay
figures through delays.clock, as the pages read them.
"""

import datetime as dt
import io
import math
import time

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import transaction
from django.http import QueryDict
from django.test import override_settings
from django.urls import reverse
from django.utils import formats, timezone, translation

from access_requests.models import (
    AccessRequest,
    Attachment,
    Event,
    ExpertInvitation,
    Follow,
    HolderTask,
    Message,
    MessageReceipt,
)
from access_requests.workflow import EventAction, InformationReason, Route, State
from backoffice import selectors
from backoffice.forms import QueueFilterForm, normalised_query
from backoffice.models import SavedFilter
from backoffice.selectors import Badge, QueueFilters, Scope
from catalog.models import DataHolder, Dataset
from delays import rules
from delays.clock import request_clock
from delays.dashboard import build_dashboard
from delays.holders import refresh_holder_medians
from delays.materialise import baseline_medians, forecast_path
from delays.models import DelayBaseline, RequestDelay
from delays.statistics import route_medians
from demo.management.commands.seed_demo import ACCOUNTS
from hdh_access.lib.dates import add_months, add_working_days, paris_date
from tests.conftest import PRODUCTION_REQUIRED_ATTACHMENTS, PRODUCTION_REQUIRED_FIELDS, reload_reference_data

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def seeding(django_db_setup, django_db_blocker, tmp_path_factory):
    """The full demo, seeded once for this module (in a transaction rolled back at its end; each
    test runs in a savepoint inside it), with the production completeness rules and attachments
    in a temporary folder. Gives the command's output and the seconds it took."""
    root = tmp_path_factory.mktemp("private")
    storage = Attachment._meta.get_field("file").storage
    with (django_db_blocker.unblock(), pytest.MonkeyPatch.context() as patch,
          override_settings(DEBUG=True, PRIVATE_MEDIA_ROOT=root, HDH_SUBMIT_REQUIRED_FIELDS=PRODUCTION_REQUIRED_FIELDS,
                            HDH_SUBMIT_REQUIRED_ATTACHMENTS=PRODUCTION_REQUIRED_ATTACHMENTS),
          transaction.atomic()):
        patch.setitem(storage.__dict__, "base_location", str(root))
        patch.setitem(storage.__dict__, "location", str(root))
        if not Dataset.objects.exists():
            reload_reference_data()
        out = io.StringIO()
        started = time.monotonic()
        call_command("seed_demo", stdout=out)
        yield out.getvalue(), time.monotonic() - started
        transaction.set_rollback(True)


@pytest.fixture
def seeded(seeding):
    return seeding[0]


def test_seeding_the_demo_takes_a_reasonable_time(seeding, capsys):
    output, seconds = seeding
    with capsys.disabled():
        print(f"\nseed_demo: {AccessRequest.objects.count()} requests, {Event.objects.count()} events "
              f"in {seconds:.1f} s")
    assert "done in" in output


def persona(email: str) -> User:
    return User.objects.get(username=email)


def queue(email: str, **filters):
    return selectors.queue(persona(email), QueueFilters(**filters))


def current_visits(requests):
    now = timezone.now()
    return {ar.reference: request_clock(ar, now).current_visit for ar in requests}


def test_every_persona_sees_at_least_three_dossiers_in_their_own_queue(seeded):
    for email, _role, _holder, is_applicant in ACCOUNTS:
        assert persona(email).get_full_name(), email  # the pages show a name, not an address
        if is_applicant:
            continue
        assert queue(email).count() >= 3, email
    applicant = persona("demandeur@example.org")
    mine = AccessRequest.objects.filter(applicant=applicant)
    assert mine.filter(state__in=selectors.IN_PROGRESS_STATES).count() >= 3
    assert mine.filter(state=State.AWAITING_APPLICANT).exists()
    # The summary names every queue.
    for email, *_rest in ACCOUNTS:
        assert email in seeded


def test_the_secretariat_has_dossiers_just_filed_due_within_two_working_days_overdue_and_paused(seeded):
    today = timezone.localdate()
    submitted = queue("secretariat@example.org", state=State.SUBMITTED)
    assert submitted.filter(delay__submitted_at__gte=timezone.now() - dt.timedelta(days=1)).count() >= 2
    in_two_days = add_working_days(today, 2)
    assert submitted.filter(due_date__gte=today, due_date__lte=in_two_days).count() >= 2
    assert submitted.filter(due_date__lt=today).count() >= 1
    assert queue("secretariat@example.org", badge=Badge.DUE_SOON).count() >= 2

    paused = queue("secretariat@example.org", scope=Scope.PAUSED)
    assert paused.filter(paused_from=State.SUBMITTED).exists()
    asked = Event.objects.filter(request__in=paused.filter(paused_from=State.SUBMITTED),
                                 action="request_information").latest("at")
    assert asked.payload["reason"] == InformationReason.INCOMPLETE and asked.payload["question"]
    assert asked.actor == persona("secretariat@example.org")


def test_the_cesrees_has_an_urgent_an_extended_an_overdue_and_dossiers_due_soon(seeded):
    today = timezone.localdate()
    requests = list(queue("cesrees@example.org"))
    visits = current_visits(requests)
    assert len(requests) >= 5
    assert any(v.urgent for v in visits.values())
    assert any(v.extended and not v.overdue for v in visits.values())
    assert sum(v.overdue for v in visits.values()) >= 1
    assert sum(selectors.badge_of(v.due_date, today) == Badge.DUE_SOON for v in visits.values()) >= 2


def test_the_cnil_has_a_renewed_an_overdue_and_dossiers_due_soon(seeded):
    today = timezone.localdate()
    visits = current_visits(queue("cnil@example.org"))
    assert len(visits) >= 5
    assert any(v.extended and v.due_date > today for v in visits.values())
    overdue = [v for v in visits.values() if v.overdue]
    # Its silence after an expressly favourable CESREES opinion: a tacit authorisation.
    assert any(v.tacit_decision == rules.TACIT_AUTHORISATION and not v.projected for v in overdue)
    assert sum(selectors.badge_of(v.due_date, today) == Badge.DUE_SOON for v in visits.values()) >= 2
    assert queue("cnil@example.org", scope=Scope.PAUSED).exists()


@pytest.mark.parametrize("email", ["cnam@example.org", "chu-bordeaux@example.org"])
def test_each_data_holder_has_contracting_matching_and_extraction_some_long_running(seeded, email):
    mine = queue(email)
    states = set(mine.values_list("state", flat=True))
    assert {State.CONTRACTING, State.MATCHING, State.EXTRACTION} <= states
    long_ago = timezone.now() - dt.timedelta(days=60)
    assert mine.filter(stage_since__lt=long_ago).exists()
    holder = persona(email).profile.data_holder
    assert all(ar.datasets.filter(holder=holder).exists() for ar in mine)
    assigned = mine.filter(assignee=persona(email))
    assert email == "cnam@example.org" or assigned.exists()


def test_a_dossier_has_three_holders_at_three_stages_and_each_holder_queues_its_own_tasks(seeded):
    three = AccessRequest.objects.get(title="Cancers du rein : parcours hospitaliers et survie — trois sources")
    states = dict(HolderTask.objects.filter(request=three).values_list("holder__code", "state"))
    assert states == {"cnam": "extraction", "atih": "matching", "chu-bordeaux": "contracting"}
    assert three.state == State.CONTRACTING  # its least advanced task's
    for email in ("cnam@example.org", "atih@example.org", "chu-bordeaux@example.org"):
        user = persona(email)
        tasks = selectors.holder_task_queue(user, QueueFilters())
        assert tasks.count() >= 3, email
        assert set(tasks.values_list("holder_id", flat=True)) == {user.profile.data_holder_id}
        assert tasks.filter(request=three).exists()
        assert len(set(tasks.values_list("state", flat=True))) >= 2, email
        assert f"{email}: " in seeded and "open tasks in the queue" in seeded
    # Every dossier that reached contracting has its holders' tasks.
    decided = AccessRequest.objects.filter(state__in=[State.CONTRACTING, State.MATCHING, State.EXTRACTION,
                                                      State.DELIVERED, State.CLOSED])
    assert decided.exists() and not decided.filter(holder_tasks__isnull=True).exists()


def test_the_platform_team_has_a_few_deliveries_to_close_and_the_old_ones_are_closed(seeded):
    delivered = queue("plateforme@example.org", state=State.DELIVERED)
    assert 3 <= delivered.count() <= 20
    assert AccessRequest.objects.filter(state=State.CLOSED).count() > 10 * delivered.count()


def test_management_sees_a_full_dashboard_with_forecasts_on_every_route(seeded):
    summary = build_dashboard()["summary"]
    assert summary["on_track"] >= 3 and summary["at_risk"] >= 2 and summary["late"] >= 2
    assert summary["delivered"] >= 20
    # The 7-month target is missed on average, as DOMAIN.md says it is today...
    assert summary["mean_institution_days"] > 7 * 30.4
    # ...by the slow dossiers: the median one is within it.
    assert summary["median_institution_days"] < 7 * 30.4
    # Every route of each population has the deliveries a forecast needs (rule 6).
    routes = {("target", Route.STANDARD), ("other", Route.STANDARD), ("other", Route.SIMPLIFIED),
              ("other", Route.REFERENCE_METHODOLOGY)}
    baselines = {row.key: row.medians for row in DelayBaseline.objects.all()}
    for key, route in routes:
        assert rules.enough_history(route_medians(baselines[key], route)), (key, route)
    assert queue("direction@example.org").count() >= 3


def test_after_the_decision_each_holder_works_at_its_own_pace_and_the_cnam_is_the_bottleneck(seeded):
    data = build_dashboard()
    holders = {h["code"]: h for h in data["holders"]}
    assert data["bottleneck_holder"]["code"] == "cnam"
    slower = [code for code, h in holders.items() if h["median_days"] is not None and h["delivered"] >= 3]
    assert len(slower) >= 3  # several holders with enough deliveries to compare
    # Requests linking the SNDS wait for the CNAM: it delivers last far more often than any other.
    assert all(holders["cnam"]["last_to_deliver"] > 2 * h["last_to_deliver"] for code, h in holders.items()
               if code != "cnam")
    # The holders' own rows moved their tasks: some multi-holder dossier's tasks were delivered apart.
    delivered = HolderTask.objects.filter(state=State.DELIVERED).values_list("request_id", "delivered_at")
    by_request: dict[int, set] = {}
    for request_id, at in delivered:
        by_request.setdefault(request_id, set()).add(at)
    assert any(len(instants) > 1 for instants in by_request.values())
    # Nightly: each holder's median becomes the default due date of its next tasks.
    refresh_holder_medians()
    assert DataHolder.objects.get(code="cnam").median_delivery_days == math.ceil(holders["cnam"]["median_days"])


def _remaining_days(ar, medians) -> float:
    """The forecast of a dossier just filed: every stage median of its route ahead of it."""
    return sum(medians.get(stage, 0.0) for stage in forecast_path(ar.route)
               if stage != rules.MATCHING or ar.requires_matching)


def test_a_dossier_filed_today_is_on_track_when_the_medians_ahead_fit_in_the_seven_months(seeded, client):
    now = timezone.now()
    filed_today = AccessRequest.objects.filter(delay__submitted_at__date__gte=(now - dt.timedelta(days=1)).date(),
                                               state=State.SUBMITTED)
    assert filed_today.filter(requires_matching=True).count() >= 2
    medians = baseline_medians()
    for ar in filed_today:
        clock = request_clock(ar, now)
        assert clock.forecast_known
        # At risk exactly when the forecast shown falls after the deadline.
        assert (clock.status == rules.STATUS_AT_RISK) == (paris_date(clock.forecast_at) > clock.deadline)
        route = route_medians(medians[ar.requires_matching], ar.route)
        ahead = _remaining_days(ar, route) - min(route.get(rules.SUBMITTED, 0.0), clock.stage_days[rules.SUBMITTED])
        if paris_date(now + dt.timedelta(days=ahead)) <= clock.deadline:
            assert clock.status == rules.STATUS_ON_TRACK, ar.reference
    # The demo's baseline: the medians of a matching dossier's stages fit in the 7 months.
    target = route_medians(medians[True], Route.STANDARD)
    whole_path = _remaining_days(AccessRequest(route=Route.STANDARD, requires_matching=True), target)
    assert paris_date(now + dt.timedelta(days=whole_path)) <= add_months(paris_date(now), 7)

    # What the applicant reads on the dossier they filed today through the portal.
    filed = AccessRequest.objects.get(events__action=EventAction.SUBMIT, events__actor=persona("demandeur@example.org"))
    clock = request_clock(filed, now)
    assert clock.status == rules.STATUS_ON_TRACK
    client.force_login(persona("demandeur@example.org"))
    with translation.override("fr"):
        html = client.get(reverse("portal:detail", args=[filed.reference]), HTTP_ACCEPT_LANGUAGE="fr").content.decode()
        forecast = formats.date_format(timezone.localtime(clock.forecast_at).date(), "DATE_FORMAT")
    assert "Dans les temps" in html and "À risque" not in html
    assert forecast in html


def test_each_persona_opens_their_queue_page(seeded, client):
    for email, role, _holder, _applicant in ACCOUNTS:
        client.force_login(persona(email))
        url = reverse("backoffice:queue") if role else reverse("portal:list")
        assert client.get(url).status_code == 200, email


def test_seeding_again_changes_no_dossier_and_if_empty_does_nothing(seeded, capsys):
    counts = (AccessRequest.objects.count(), Event.objects.count(), RequestDelay.objects.count())
    call_command("seed_demo", "--password", "Un-Mot-De-Passe-42")
    assert "already loaded" in capsys.readouterr().out
    assert (AccessRequest.objects.count(), Event.objects.count(), RequestDelay.objects.count()) == counts
    assert persona("demandeur@example.org").check_password("Un-Mot-De-Passe-42")

    call_command("seed_demo", "--if-empty")
    assert "nothing to do" in capsys.readouterr().out
    assert (AccessRequest.objects.count(), Event.objects.count(), RequestDelay.objects.count()) == counts
    assert persona("demandeur@example.org").check_password("Un-Mot-De-Passe-42")


def test_reviewers_have_saved_filters_that_reopen_cleanly_and_follow_dossiers(seeded, client):
    saved = SavedFilter.objects.select_related("user")
    assert {f.user.username for f in saved} == {
        email for email, role, _holder, _applicant in ACCOUNTS if role}
    for saved_filter in saved:
        assert normalised_query(QueueFilterForm(QueryDict(saved_filter.query))) == saved_filter.query
        client.force_login(saved_filter.user)
        response = client.get(reverse("backoffice:open_filter", args=[saved_filter.pk]), follow=True)
        assert response.status_code == 200
        assert "plus valable" not in response.content.decode() and "invalides" not in response.content.decode()
    for email in ("secretariat@example.org", "cesrees@example.org", "cnil@example.org", "cnam@example.org",
                  "chu-bordeaux@example.org", "plateforme@example.org"):
        followed = Follow.objects.filter(user=persona(email)).values_list("request__reference", flat=True)
        assert set(queue(email, scope=Scope.FOLLOWED).values_list("reference", flat=True)) == set(followed) != set()


def test_the_demo_has_threads_an_answered_information_request_an_internal_note_and_an_expert(seeded, client):
    applicant, cesrees = persona("demandeur@example.org"), persona("cesrees@example.org")
    # The dossier filed now: the secretariat asked for a missing letter, the applicant sent it.
    asked = Message.objects.get(kind="information_request", author=persona("secretariat@example.org"),
                                request__applicant=applicant, request__state=State.SUBMITTED)
    answer = Message.objects.get(kind="answer", request=asked.request)
    assert asked.event.payload["reason"] == InformationReason.INCOMPLETE
    assert answer.attachments.get().original_name == "lettre-engagement.pdf"
    assert Message.objects.filter(internal=True, role="secretariat").exists()
    # A conversation with the CESREES, read on both sides, and an expert invited to the same dossier.
    conversation = Message.objects.filter(request__messages__author=cesrees, kind="message", internal=False).distinct()
    assert {m.role for m in conversation} == {"cesrees", "applicant"}
    assert MessageReceipt.objects.filter(user=applicant, message__author=cesrees).exists()
    assert MessageReceipt.objects.filter(user=cesrees, message__author=applicant).exists()
    invitation = ExpertInvitation.objects.get()
    assert invitation.invited_by == cesrees and invitation.is_active()
    assert Event.objects.filter(request=invitation.request, action=EventAction.INVITE_EXPERT).exists()
    # A question of the applicant waits for the secretariat's email.
    assert Message.objects.filter(author=applicant, notified_at__isnull=True,
                                  request__state=State.AWAITING_APPLICANT).exists()
    # The pages show them.
    client.force_login(applicant)
    html = client.get(reverse("portal:detail", args=[asked.request.reference])).content.decode()
    assert "lettre-engagement.pdf" in html and "Votre réponse à la demande de compléments" in html
    client.force_login(cesrees)
    html = client.get(reverse("backoffice:detail", args=[invitation.request.reference])).content.decode()
    assert "rapporteur.externe@example.org" in html and "Lu par Camille Durand" in html
