"""Personas and helpers shared by the whole suite. Data is made through the services."""

from __future__ import annotations

import datetime as dt
import os
import uuid

import pytest
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.models import Group, User

from access_requests import services
from access_requests.form_tokens import FIELD_NAME, issue_token
from access_requests.models import AccessRequest
from access_requests.workflow import Role, Route, State
from accounts.models import Organisation, Profile
from catalog.models import DataHolder, Dataset
from hdh_access.lib.dates import PARIS
from tests.oidc_provider.runner import running_provider

PASSWORD = "Correct-Horse-Battery-9"

# Under pytest-xdist (`make test` runs `-n 2`, pyproject.toml adds `--dist loadfile`) each worker process
# has its own test database (pytest-django suffixes its name with the worker id: test_<name>_gw0), and
# its own live server and SMTP server on free ports. What workers share is the Redis database of
# REDIS_URL: tests/test_celery_worker.py flushes it and starts a real Celery worker that consumes its
# queue for that process's database only, so its tests must all run in one xdist worker: --dist
# loadfile keeps each file on one worker. (--dist loadgroup with xdist_group marks would be finer,
# but pytest-xdist 3.8.0 ignores the groups under pytest 9.2: pytest-dev/pytest-xdist#1386.)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """A test marked ``postgres`` fails, loudly and before its fixtures run, on another database: it is
    never skipped. (pytest counts a failure raised during setup as an error: exit status 1 all the same.)"""
    if item.get_closest_marker("postgres") is None:
        return
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.fail(f"{item.nodeid} is marked postgres (row locks, SQL aggregates) and the test database is "
                    f"{connection.vendor}: run it on PostgreSQL (DATABASE_URL=postgres://...; `make test` does)",
                    pytrace=False)


@pytest.fixture(autouse=True, scope="session")
def _flush_may_truncate_the_event_log():
    """Let Django's flush between transactional tests TRUNCATE the append-only event log.

    The database refuses TRUNCATE of the event table unless the transaction-local setting
    ``hdh.event_log_truncate`` says 'allowed' (access_requests migration 0007); only the flush
    of the test suite sets it, as its first statement.
    """
    from django.db.backends.postgresql.operations import DatabaseOperations

    original = DatabaseOperations.execute_sql_flush

    def execute_sql_flush(self, sql_list):
        return original(self, ["SET LOCAL hdh.event_log_truncate = 'allowed'", *sql_list])

    DatabaseOperations.execute_sql_flush = execute_sql_flush
    yield
    DatabaseOperations.execute_sql_flush = original


def make_user(email: str, *, role: str | None = None, organisation=None, data_holder=None, **extra) -> User:
    user = User.objects.create_user(username=email, email=email, password=PASSWORD, **extra)
    Profile.objects.create(user=user, organisation=organisation, data_holder=data_holder)
    if role:
        user.groups.add(Group.objects.get(name=role))
    return user


# The test OpenID Connect provider's clients (tests/oidc_provider): ``hdh-proconnect`` gets its userinfo
# as a signed JWT, as ProConnect's clients do; ``hdh-json`` as plain JSON.
PROCONNECT_CLIENT = "hdh-proconnect"
PROCONNECT_JSON_CLIENT = "hdh-json"
PROCONNECT_SECRET = "hdh-test-client-secret"


@pytest.fixture(scope="module")
def oidc_provider(live_server):
    """A real OpenID Connect provider (django-oidc-provider) in a second process, its clients sent back
    to this live server; stopped by its pid, its files deleted, when the module's tests are done."""
    clients = [{"client_id": client_id, "client_secret": PROCONNECT_SECRET, "signed_userinfo": signed,
                "redirect_uris": [f"{live_server.url}/oidc/callback/"],
                "post_logout_redirect_uris": [f"{live_server.url}/"]}
               for client_id, signed in ((PROCONNECT_CLIENT, True), (PROCONNECT_JSON_CLIENT, False))]
    with running_provider(clients=clients) as provider:
        yield provider


@pytest.fixture
def proconnect(settings, oidc_provider):
    """ProConnect switched on with the test provider, as settings.py does from the environment."""
    settings.PROCONNECT_ENABLED = True
    settings.PROCONNECT_ISSUER = oidc_provider.issuer
    settings.PROCONNECT_CLIENT_ID = settings.OIDC_RP_CLIENT_ID = PROCONNECT_CLIENT
    settings.PROCONNECT_CLIENT_SECRET = settings.OIDC_RP_CLIENT_SECRET = PROCONNECT_SECRET
    settings.AUTHENTICATION_BACKENDS = [*settings.AUTHENTICATION_BACKENDS, "accounts.proconnect.ProConnectBackend"]
    policy = settings.CONTENT_SECURITY_POLICY
    settings.CONTENT_SECURITY_POLICY = {**policy, "DIRECTIVES": {
        **policy["DIRECTIVES"], "form-action": [*policy["DIRECTIVES"]["form-action"], oidc_provider.url]}}
    return oidc_provider


def with_form_token(client, data: dict | None = None) -> dict:
    """``data`` and the one-time token that a page rendered to the client's signed-in user puts in
    its form (``{% form_token %}``, access_requests.form_tokens): what a browser posts. A test
    that posts a form without opening its page first adds it with this. An anonymous client gets
    no token, as the tag renders none for an anonymous user."""
    user_id = client.session.get(SESSION_KEY)
    if user_id is None:
        return dict(data or {})
    return {**(data or {}), FIELD_NAME: issue_token(User.objects.get(pk=user_id))}


@pytest.fixture
def organisation(db):
    return Organisation.objects.create(name="Inserm U1018")


@pytest.fixture
def other_organisation(db):
    return Organisation.objects.create(name="CHU de Lille")


@pytest.fixture
def applicant(organisation):
    return make_user("porteur@inserm.example", organisation=organisation)


@pytest.fixture
def colleague(organisation):
    return make_user("collegue@inserm.example", organisation=organisation)


@pytest.fixture
def outsider(other_organisation):
    return make_user("autre@chu-lille.example", organisation=other_organisation)


@pytest.fixture
def secretariat(db):
    return make_user("secretariat@hdh.example", role=Role.SECRETARIAT)


def paris(year: int, month: int, day: int, hour: int = 10, minute: int = 0) -> dt.datetime:
    """An instant on a Paris wall clock (10:00 by default)."""
    return dt.datetime(year, month, day, hour, minute, tzinfo=PARIS)


def store_baseline(medians: dict, *, routes=("standard",), key: str = "target"):
    """A forecast baseline (delays.statistics.forecast_baseline's shape) holding ``medians``
    for the requests of each of ``routes`` in the population ``key``."""
    from django.utils import timezone

    from delays.models import DelayBaseline

    baseline, _created = DelayBaseline.objects.update_or_create(key=key, defaults={
        "computed_at": timezone.now(), "medians": {**medians, "routes": dict.fromkeys(routes, medians)}})
    return baseline


@pytest.fixture
def language_restored():
    """A request in English leaves English active in the thread: put back what was active."""
    from django.utils import translation

    previous = translation.get_language()
    yield
    translation.activate(previous)


@pytest.fixture(autouse=True)
def _default_language_after_each_test():
    """Every test starts in the default language, whatever the one before asked for (a page in
    English leaves English active in the thread, and the next test on that worker would read
    English strings)."""
    from django.conf import settings
    from django.utils import translation

    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture
def small_history_is_enough(monkeypatch):
    """For tests about what an "at risk" request does (listed, counted, emailed), whose stories
    deliver only a few requests: the medians of one delivered request are enough to call a request
    at risk. The threshold itself (20, rule 6) is tested in tests/delays/test_rules.py."""
    from delays import rules

    monkeypatch.setattr(rules, "MIN_FORECAST_HISTORY", 1)


@pytest.fixture
def cesrees(db):
    return make_user("cesrees@hdh.example", role=Role.CESREES)


@pytest.fixture
def cnil(db):
    return make_user("cnil@cnil.example", role=Role.CNIL)


@pytest.fixture
def cnam(db):
    return make_user("cnam@cnam.example", role=Role.DATA_HOLDER, data_holder=DataHolder.objects.get(code="cnam"))


@pytest.fixture
def curie(db):
    """A data holder staff member whose datasets are not in the usual test requests."""
    return make_user("curie@curie.example", role=Role.DATA_HOLDER, data_holder=DataHolder.objects.get(code="curie"))


@pytest.fixture
def platform(db):
    return make_user("plateforme@hdh.example", role=Role.PLATFORM)


@pytest.fixture
def management(db):
    return make_user("direction@hdh.example", role=Role.MANAGEMENT)


@pytest.fixture
def superuser(db):
    return make_user("admin@hdh.example", is_superuser=True, is_staff=True)


@pytest.fixture
def personas(applicant, colleague, outsider, secretariat, cesrees, cnil, cnam, curie, platform, management, superuser):
    return {
        "applicant": applicant, "colleague": colleague, "outsider": outsider, "secretariat": secretariat,
        "cesrees": cesrees, "cnil": cnil, "cnam": cnam, "curie": curie, "platform": platform,
        "management": management, "superuser": superuser,
    }


def datasets(*codes: str):
    return list(Dataset.objects.filter(code__in=codes))


SAMPLE_PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def complete_dossier(request, actor) -> None:
    """Give a draft what the settings require before submission (texts, attachments)."""
    from django.conf import settings
    from django.core.files.uploadedfile import SimpleUploadedFile

    texts = {name: f"{name} du projet" for name in settings.HDH_SUBMIT_REQUIRED_FIELDS}
    if texts:
        services.update_draft(request_id=request.pk, actor=actor, **texts)
    for kind in settings.HDH_SUBMIT_REQUIRED_ATTACHMENTS:
        services.add_attachment(request_id=request.pk, actor=actor, kind=kind,
                                uploaded=SimpleUploadedFile(f"{kind}.pdf", SAMPLE_PDF, content_type="application/pdf"))


def advance_other_holders(request, action: str | None = None, *, keep: str = "cnam") -> None:
    """The system takes ``action`` (every task action in turn when None: up to delivery) on the
    holder tasks of ``request`` other than ``keep``'s, when ``keep`` has one: what the other data
    holders did before the persona of ``keep`` acts (tests written before holder tasks walk a
    request with the CNAM persona alone)."""
    from access_requests.models import HolderTask
    from access_requests.workflow import TASK_ACTIONS, task_action_refusal

    if not HolderTask.objects.filter(request_id=request.pk, holder__code=keep).exists():
        return
    for task_id in HolderTask.objects.filter(request_id=request.pk).exclude(holder__code=keep).values_list(
            "pk", flat=True):
        for name in ([action] if action else TASK_ACTIONS):
            task = HolderTask.objects.get(pk=task_id)
            if task_action_refusal(name, task.state, requires_matching=task.requires_matching) is None:
                services.act_on_task(task_id=task_id, actor=None, action=name)


# Standard path from draft, as (service, actor persona, kwargs).
def _steps(requires_matching: bool):
    import datetime as dt

    steps = [
        (State.SUBMITTED, services.submit, "applicant", {}),
        (State.CESREES_REVIEW, services.forward_to_cesrees, "secretariat", {}),
        (State.CNIL_REVIEW, services.record_cesrees_opinion, "cesrees", {"opinion": "favourable"}),
        (State.CONTRACTING, services.record_cnil_decision, "cnil",
         {"authorised": True, "decision_number": "DR-2025-001", "decision_date": dt.date(2025, 3, 1)}),
        (State.MATCHING if requires_matching else State.EXTRACTION, services.record_contract_signed, "cnam", {}),
    ]
    if requires_matching:
        steps.append((State.EXTRACTION, services.record_matching_done, "cnam", {}))
    steps += [
        (State.DELIVERED, services.deliver, "cnam", {}),
        (State.CLOSED, services.close, "platform", {}),
    ]
    return steps


@pytest.fixture
def make_request(personas):
    """Create a request through the services and walk it along the standard path to ``state``.

    ``state`` may be any state of the standard path, or awaiting_applicant (paused from
    ``paused_from``), rejected (by the secretariat) or withdrawn.

    Past the decision the CNAM persona acts on the CNAM's holder task only: with
    ``other_holders="done"`` (the default) the other holders' tasks are delivered by the system
    as soon as they open, so the CNAM's actions move the request as for a single holder (the
    holder tasks' own tests pass ``other_holders="open"``).
    """

    def make(state: str = State.DRAFT, *, codes=("snds", "oscour"), route: str = Route.STANDARD,
             brings_own_data: bool = False, paused_from: str = State.SUBMITTED, other_holders: str = "done"):
        request = services.create_draft(
            actor=personas["applicant"], title="Parcours de soins après un AVC", summary="Étude de cohorte",
            datasets=datasets(*codes), route=route, brings_own_data=brings_own_data,
        )
        if state == State.DRAFT:
            return request
        if state == State.WITHDRAWN:
            return services.withdraw(request_id=request.pk, actor=personas["applicant"], reason="Projet abandonné")
        complete_dossier(request, personas["applicant"])
        target = paused_from if state == State.AWAITING_APPLICANT else state
        if state == State.REJECTED:
            target = State.SUBMITTED
        for reached, service, who, kwargs in _steps(request.requires_matching):
            request = service(request_id=request.pk, actor=personas[who], **kwargs)
            if reached == State.CONTRACTING and other_holders == "done":
                advance_other_holders(request)
            if reached == target:
                break
        else:
            raise AssertionError(f"{target} is not on the standard path")
        if state == State.AWAITING_APPLICANT:
            request = services.request_information(request_id=request.pk, actor=personas[STAGE_OWNER[paused_from]],
                                                   question="Précisez ?")
        elif state == State.REJECTED:
            request = services.reject(request_id=request.pk, actor=personas["secretariat"], reason="Hors champ")
        assert request.state == state
        return request

    return make


# The dossier the production settings require before submission (hdh_access/settings.py).
PRODUCTION_REQUIRED_FIELDS = ["summary", "public_interest", "methodology"]
PRODUCTION_REQUIRED_ATTACHMENTS = ["protocol", "data_management_plan"]


@pytest.fixture(autouse=True)
def _workflow_tests_submit_bare_drafts(settings):
    """Most tests exercise the pathway, not the dossier: their drafts need no attachments.

    Completeness itself is tested with the production requirements (``production_completeness``:
    tests/access_requests/test_completeness.py, the portal's tests).
    """
    settings.HDH_SUBMIT_REQUIRED_FIELDS = []
    settings.HDH_SUBMIT_REQUIRED_ATTACHMENTS = []


@pytest.fixture
def production_completeness(settings):
    settings.HDH_SUBMIT_REQUIRED_FIELDS = list(PRODUCTION_REQUIRED_FIELDS)
    settings.HDH_SUBMIT_REQUIRED_ATTACHMENTS = list(PRODUCTION_REQUIRED_ATTACHMENTS)


@pytest.fixture
def shared_cache(settings):
    """The suite's Redis as the shared cache (CACHE_URL), under a key prefix of this test's own."""
    redis_url = os.environ.get("REDIS_URL")
    if not redis_url:
        pytest.fail("the suite runs with Redis: set REDIS_URL")
    settings.CACHE_URL = redis_url
    settings.CACHES = {"default": {"BACKEND": "hdh_access.cache.RedisCache", "LOCATION": redis_url,
                                   "KEY_PREFIX": f"test-{uuid.uuid4().hex}"}}
    return settings


@pytest.fixture(autouse=True)
def _site_config_not_cached():
    """Every test reads the DSFR site configuration afresh (the pages cache it: a configuration
    cached by an earlier test, or its absence, would leak into the next)."""
    from hdh_access.context_processors import forget_site_config

    forget_site_config()


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    """Personas are many; the real hasher costs seconds per test and proves nothing here."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _celery_eager(request):
    """Tasks run in-process unless a test is marked ``worker`` (real worker on Redis)."""
    from hdh_access.celery import app

    if request.node.get_closest_marker("worker"):
        yield
        return
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


def reload_reference_data() -> None:
    """Put back what migrations load (catalogue, role groups): a transactional test's flush empties them."""
    import importlib

    from django.apps import apps as django_apps

    from access_requests.roles import ensure_role_groups

    importlib.import_module("catalog.migrations.0002_load_catalogue").load(django_apps, None)
    importlib.import_module("catalog.migrations.0004_pmsi_dataset").load(django_apps, None)
    ensure_role_groups()


@pytest.fixture(autouse=True)
def _reference_data(request):
    marker = request.node.get_closest_marker("django_db")
    names = request.fixturenames
    if not (marker or "db" in names or "transactional_db" in names):
        yield
        return
    transactional = "transactional_db" in names or bool(
        marker and (marker.kwargs.get("transaction") or (marker.args and marker.args[0])))
    request.getfixturevalue("transactional_db" if transactional else "db")
    if not Dataset.objects.exists():
        reload_reference_data()
    yield



# --- histories at chosen instants ---------------------------------------------------------------
# The persona who acts for each stage (asks the applicant, extends the review).
STAGE_OWNER = {State.SUBMITTED: "secretariat", State.CESREES_REVIEW: "cesrees", State.CNIL_REVIEW: "cnil",
               State.CONTRACTING: "cnam", State.MATCHING: "cnam"}
CNIL_DECISION_DATE = dt.date(2025, 1, 6)


# The story steps that act on holder tasks, and their task action.
TASK_STEPS = {"contract": "record_contract_signed", "matched": "record_matching_done", "deliver": "deliver"}


def story_step(name: str, *, opinion: str = "favourable"):
    """(service, persona or None for the stage owner, kwargs) of a named step of a story."""
    return {
        "submit": (services.submit, "applicant", {}),
        "forward": (services.forward_to_cesrees, "secretariat", {}),
        "opinion": (services.record_cesrees_opinion, "cesrees", {"opinion": opinion}),
        "authorise": (services.record_cnil_decision, "cnil",
                      {"authorised": True, "decision_number": "DR-2025-042", "decision_date": CNIL_DECISION_DATE}),
        "contract": (services.record_contract_signed, "cnam", {}),
        "matched": (services.record_matching_done, "cnam", {}),
        "deliver": (services.deliver, "cnam", {}),
        "close": (services.close, "platform", {}),
        "reject": (services.reject, "secretariat", {"reason": "Hors du champ de la plateforme"}),
        "withdraw": (services.withdraw, "applicant", {"reason": "Projet abandonné"}),
        "ask": (services.request_information, None, {"question": "Précisez la finalité du traitement ?"}),
        "ask_incomplete": (services.request_information, None, {"question": "Pièce manquante ?",
                                                                "reason": "incomplete"}),
        "ask_incorrect": (services.request_information, None, {"question": "Ce chiffre est-il exact ?",
                                                               "reason": "incorrect"}),
        "ask_other": (services.request_information, None, {"question": "Une précision ?", "reason": "other"}),
        "forward_urgent": (services.forward_to_cesrees, "secretariat", {"urgent": True}),
        "answer": (services.answer_information, "applicant", {"answer": "Voici les précisions demandées."}),
        "extend": (services.extend_review, None, {}),
    }[name]


class Player:
    """Runs services at chosen instants (time-machine), each step's on-commit callbacks executed
    before the clock moves on, so the eager tasks run as after a real commit."""

    def __init__(self, personas, capture_on_commit):
        self.personas = personas
        self.capture_on_commit = capture_on_commit

    def run_at(self, when, service, **kwargs):
        import time_machine

        with time_machine.travel(when, tick=False), self.capture_on_commit(execute=True):
            return service(**kwargs)

    def step(self, request, when, name: str, *, opinion: str = "favourable"):
        service, who, kwargs = story_step(name, opinion=opinion)
        if who is None:
            who = STAGE_OWNER[AccessRequest.objects.get(pk=request.pk).state]
        if name in TASK_STEPS:
            # The other data holders act at the same instant, then the CNAM's act moves the request.
            self.run_at(when, advance_other_holders, request=request, action=TASK_STEPS[name])
        return self.run_at(when, service, request_id=request.pk, actor=self.personas[who], **kwargs)

    def story(self, *steps, codes=("snds", "oscour"), opinion: str = "favourable", created=None,
              title: str = "Parcours de soins après un AVC"):
        """A draft created the day before the first step (or at ``created``), then each (instant, step)."""
        first = steps[0][0] if steps else dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
        request = self.run_at(created or first - dt.timedelta(days=1), services.create_draft,
                              actor=self.personas["applicant"], title=title,
                              datasets=list(Dataset.objects.filter(code__in=codes)))
        for when, name in steps:
            request = self.step(request, when, name, opinion=opinion)
        return request


@pytest.fixture
def player(personas, django_capture_on_commit_callbacks):
    return Player(personas, django_capture_on_commit_callbacks)


def use_private_media(settings, tmp_path, monkeypatch):
    """Attachments go to a temporary folder (the field's storage is built once, so patch it too)."""
    from access_requests.models import Attachment

    root = tmp_path / "private"
    root.mkdir()
    settings.PRIVATE_MEDIA_ROOT = root
    storage = Attachment._meta.get_field("file").storage
    monkeypatch.setitem(storage.__dict__, "base_location", str(root))
    monkeypatch.setitem(storage.__dict__, "location", str(root))
    return root


def stored_files(root) -> list:
    """Every file below ``root`` (what the private storage holds)."""
    return sorted(p for p in root.rglob("*") if p.is_file())
