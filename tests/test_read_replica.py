"""The read replica (DATABASE_REPLICA_URL, hdh_access/db_router.py) on a real streaming replica.

The module starts its own primary and hot standby (tests/pgcluster.py: initdb, pg_basebackup -R
-X stream), points Django's ``default`` alias at the primary and a ``replica`` alias at the standby
for its tests (then puts both back), and migrates the primary: the standby replays it. Replica lag is made for real: ``pg_wal_replay_pause()`` on the
standby holds back what the primary writes until ``pg_wal_replay_resume()``.

Nothing here runs inside a test transaction (the replica sees committed rows only): the data is
committed on the module's own primary, which is thrown away with its replica at the end.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connections, transaction
from django.http import JsonResponse
from django.urls import include, path
from django.urls import reverse as url

from access_requests import services
from access_requests.models import AccessRequest
from access_requests.workflow import Role
from accounts.models import Organisation
from backoffice import selectors as backoffice_selectors
from backoffice import services as backoffice_services
from backoffice.models import SavedFilter
from catalog.models import Dataset
from delays.report import build_report
from hdh_access import db_router
from hdh_access.db_router import REPLICA, read_alias, replica_reads, unit_of_work
from hdh_access.lib.cli import parse_as_of
from tests import pgcluster
from tests.conftest import make_user, with_form_token

ROOT = Path(__file__).resolve().parent.parent
DATABASE = "hdh"
# The clusters' ports: 5440 and 5441 for the first xdist worker (primary, replica), two more per worker.
BASE_PORT = 5440

pytestmark = pytest.mark.postgres


def _worker_index() -> int:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    return int(worker.removeprefix("gw") or 0)


@pytest.fixture(scope="module")
def clusters(django_db_blocker):
    """The primary, migrated as the test database is, and its replica."""
    with pgcluster.primary_and_replica(port=BASE_PORT + 2 * _worker_index()) as (primary, replica):
        primary.query(f"CREATE DATABASE {DATABASE}")
        with django_db_blocker.unblock(), django_on(primary, replica):
            call_command("migrate", verbosity=0, interactive=False)
            yield primary, replica


@contextmanager
def django_on(primary: pgcluster.Cluster, replica: pgcluster.Cluster):
    """``default`` on the primary and ``replica`` on the standby (as DATABASE_REPLICA_URL would make them)."""
    default = connections["default"]
    default.close()
    saved = {key: default.settings_dict[key] for key in ("HOST", "PORT", "NAME", "USER", "PASSWORD", "OPTIONS")}
    # The clusters' superuser, without password or TLS, whatever DATABASE_URL says.
    default.settings_dict.update(HOST="127.0.0.1", PORT=primary.port, NAME=DATABASE, USER="postgres", PASSWORD="",
                                 OPTIONS={})
    settings.DATABASES[REPLICA] = {**default.settings_dict, "PORT": replica.port, "TEST": {"MIRROR": "default"}}
    try:
        yield
    finally:
        connections[REPLICA].close()
        del connections[REPLICA]
        del settings.DATABASES[REPLICA]
        default.close()
        default.settings_dict.update(saved)


@pytest.fixture(scope="module")
def people(clusters):
    organisation = Organisation.objects.create(name="Inserm (réplique)")
    return {
        "applicant": make_user("porteur@replica.example", organisation=organisation),
        "secretariat": make_user("secretariat@replica.example", role=Role.SECRETARIAT),
    }


@pytest.fixture(autouse=True)
def _uncached_dashboard(settings):
    settings.HDH_DASHBOARD_CACHE_SECONDS = 0


def submitted_request(people, title: str) -> AccessRequest:
    """A request submitted through the services (committed on the primary, its delay row too)."""
    draft = services.create_draft(actor=people["applicant"], title=title, summary="Étude",
                                  datasets=list(Dataset.objects.filter(code__in=("snds", "oscour"))))
    return services.submit(request_id=draft.pk, actor=people["applicant"])


class Replay:
    """The replica's replay of the primary's changes: paused (lag, for as long as a test wants) or caught up."""

    def __init__(self, primary: pgcluster.Cluster, replica: pgcluster.Cluster) -> None:
        self.primary, self.replica, self.paused = primary, replica, False

    def pause(self) -> None:
        self.caught_up()
        self.replica.query("SELECT pg_wal_replay_pause()")
        self.paused = True

    def resume(self) -> None:
        self.replica.query("SELECT pg_wal_replay_resume()")
        self.paused = False
        self.caught_up()

    def caught_up(self) -> None:
        pgcluster.wait_for_replay(self.primary, self.replica)


@pytest.fixture
def replay(clusters):
    replay = Replay(*clusters)
    yield replay
    if replay.paused:
        replay.resume()


def signed_in(client, user):
    client.force_login(user)
    return client


def open_in_submitted(data: dict) -> int:
    return next(row["total"] for row in data["current_stages"] if row["stage"] == "submitted")


def test_the_replica_is_a_streaming_hot_standby_of_the_primary(people, replay):
    request = submitted_request(people, "Réplication")
    replay.caught_up()
    with connections[REPLICA].cursor() as cursor:
        cursor.execute("SELECT pg_is_in_recovery()")
        assert cursor.fetchone() == (True,)
    with replica_reads(), unit_of_work():
        assert AccessRequest.objects.all().db == REPLICA
        assert AccessRequest.objects.get(pk=request.pk).title == "Réplication"


def test_the_queue_the_dashboard_and_their_downloads_read_the_replica_and_lag_with_it(people, client, replay):
    secretariat = signed_in(client, people["secretariat"])
    earlier = submitted_request(people, "Avant la pause")
    replay.pause()
    before = open_in_submitted(secretariat.get(url("backoffice:delays_json")).json())
    late = submitted_request(people, "Arrivée pendant la pause")
    assert AccessRequest.objects.filter(pk=late.pk).exists()  # the primary has it

    queue = secretariat.get(url("backoffice:queue"), {"scope": "open"}).content.decode()
    assert earlier.reference in queue and late.reference not in queue
    assert open_in_submitted(secretariat.get(url("backoffice:delays_json")).json()) == before
    csv = export_csv(secretariat)
    assert earlier.reference in csv and late.reference not in csv

    replay.resume()
    assert late.reference in secretariat.get(url("backoffice:queue"), {"scope": "open"}).content.decode()
    assert open_in_submitted(secretariat.get(url("backoffice:delays_json")).json()) == before + 1
    assert late.reference in export_csv(secretariat)


def export_csv(client) -> str:
    """The queue's CSV download, streamed (its rows are read while it is sent)."""
    response = client.get(url("backoffice:export"), {"scope": "open"})
    return b"".join(response.streaming_content).decode("utf-8-sig")


def test_the_delay_report_command_reads_the_replica_named_by_database_replica_url(clusters, people, replay):
    primary, replica = clusters
    as_of = "2030-01-01"  # after every request of the module: all of them are open then
    replay.pause()
    submitted_request(people, "Pour le rapport")
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DATABASE_REPLICA_URL")}
    env.update(DEBUG="true", DATABASE_URL=primary.url(DATABASE), DATABASE_REPLICA_URL=replica.url(DATABASE))
    result = subprocess.run([sys.executable, "manage.py", "delay_report", "--as-of", as_of], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    on_replica = json.loads(result.stdout)["summary"]
    on_primary = build_report(parse_as_of(as_of))["summary"]
    opened = ("late", "at_risk", "on_track")
    assert sum(on_replica[k] for k in opened) == sum(on_primary[k] for k in opened) - 1


# A view that writes, then reads what it wrote, in one request, among views that read the replica.
@replica_reads
def save_then_list(request):
    before = read_alias()
    backoffice_services.save_filter(actor=request.user, name=request.GET["name"], query="scope=open")
    names = [saved.name for saved in backoffice_selectors.saved_filters(request.user)]
    return JsonResponse({"before": before, "after": read_alias(), "names": names})


urlpatterns = [path("save-then-list/", save_then_list), path("", include("hdh_access.urls"))]


@pytest.mark.urls(__name__)
def test_a_request_that_wrote_reads_its_own_writes_from_the_primary_whatever_the_lag(people, client, replay):
    replay.pause()
    answer = signed_in(client, people["secretariat"]).get("/save-then-list/", {"name": "Écrit puis lu"}).json()
    assert answer == {"before": REPLICA, "after": "default", "names": ["Écrit puis lu"]}


def test_the_page_a_form_redirects_to_reads_the_primary_for_a_while_in_that_session_only(people, client, replay):
    secretariat = people["secretariat"]
    replay.pause()
    signed_in(client, secretariat)
    response = client.post(url("backoffice:save_filter") + "?scope=open",
                           with_form_token(client, {"name": "Ouverts (réplique)"}))
    assert response.status_code == 303
    assert "Ouverts (réplique)" in client.get(response["Location"]).content.decode()
    assert SavedFilter.objects.filter(user=secretariat, name="Ouverts (réplique)").exists()

    other_session = client.__class__()
    signed_in(other_session, secretariat)
    assert "Ouverts (réplique)" not in other_session.get(url("backoffice:queue")).content.decode()


def test_reads_inside_a_transaction_or_after_a_write_go_to_the_primary(people):
    with unit_of_work():
        assert AccessRequest.objects.all().db == "default"  # outside replica_reads()
        with replica_reads():
            assert AccessRequest.objects.all().db == REPLICA
            with transaction.atomic():
                assert AccessRequest.objects.all().db == "default"
            assert AccessRequest.objects.all().db == REPLICA
            SavedFilter.objects.create(user=people["secretariat"], name="Écriture", query="")
            assert AccessRequest.objects.all().db == "default"
    with unit_of_work(), replica_reads():
        assert AccessRequest.objects.all().db == REPLICA  # a new unit of work has not written
        db_router.pin_to_primary()  # what a raw-SQL writer says
        assert AccessRequest.objects.all().db == "default"



def test_a_task_in_a_worker_starts_without_the_writes_before_it_and_an_eager_one_shares_its_callers(clusters):
    """The task_prerun receiver of hdh_access/celery.py, sent as Celery sends it before each task."""
    from celery.signals import task_prerun

    from delays.tasks import warm_dashboard

    def starts(*, eager: bool) -> str:
        warm_dashboard.push_request(is_eager=eager)
        try:
            task_prerun.send(sender=warm_dashboard, task_id="t", task=warm_dashboard, args=(), kwargs={})
            return read_alias()
        finally:
            warm_dashboard.pop_request()

    with unit_of_work(), replica_reads():
        db_router.pin_to_primary()  # the request (or the task before, in this worker thread) wrote
        assert starts(eager=True) == "default"
        assert starts(eager=False) == REPLICA

# --- settings ------------------------------------------------------------------------------------
def _settings_of(**env) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DATABASE_REPLICA_URL")}
    full.update(DEBUG="true", **env)
    code = "from django.conf import settings; import json; print(json.dumps(settings.DATABASES.get('replica')))"
    return subprocess.run([sys.executable, "-c", f"import django; django.setup(); {code}"], cwd=ROOT,
                          env={**full, "DJANGO_SETTINGS_MODULE": "hdh_access.settings"},
                          capture_output=True, text=True, timeout=120)


def test_database_replica_url_adds_the_replica_alias_with_the_primarys_settings_and_its_address():
    result = _settings_of(DATABASE_URL="postgres://app@db1.example:5432/hdh",
                          DATABASE_REPLICA_URL="postgres://reader:secret@db2.example:6432/hdh?sslmode=require")
    assert result.returncode == 0, result.stderr
    replica = json.loads(result.stdout)
    assert {k: replica[k] for k in ("ENGINE", "HOST", "PORT", "NAME", "USER", "PASSWORD")} == {
        "ENGINE": "django.db.backends.postgresql", "HOST": "db2.example", "PORT": 6432, "NAME": "hdh",
        "USER": "reader", "PASSWORD": "secret"}
    assert replica["OPTIONS"] == {"sslmode": "require"}
    assert replica["TEST"]["MIRROR"] == "default"  # tests never create a database on the replica
    assert json.loads(_settings_of(DATABASE_URL="postgres://app@db1.example:5432/hdh").stdout) is None


@pytest.mark.parametrize(("env", "message"), [
    ({"DATABASE_URL": "postgres://app@db1.example/hdh", "DATABASE_REPLICA_URL": "mysql://reader:pw@db2.example/hdh"},
     "DATABASE_REPLICA_URL: must be postgres://user[:password]@host[:port]/database"),
    ({"DATABASE_URL": "sqlite:///tmp/x.sqlite3", "DATABASE_REPLICA_URL": "postgres://reader@db2.example/hdh"},
     "DATABASE_REPLICA_URL needs a PostgreSQL DATABASE_URL"),
])
def test_a_replica_url_that_cannot_work_stops_the_start_without_showing_its_password(env, message):
    result = _settings_of(**env)
    assert result.returncode != 0
    assert message in result.stderr
    assert "pw@" not in result.stderr
