"""The mixed workload of issue 16 for locust: personas that sign in once, then browse and act.

Run by benchmarks/load/run.py (which seeds the accounts and the work, starts the server and
checks the writes afterwards); by hand:

    LOAD_ACCOUNTS=accounts.json LOAD_WRITES=writes.jsonl \
        locust -f benchmarks/load/locustfile.py --headless -u 50 -r 5 -t 2m --host http://127.0.0.1:8140

Personas (weight): applicants (4: their list, one of their requests, a new draft created, saved,
given its two required documents and submitted), secretariat (2: the queue, a submitted request,
forward it to the CESREES), CESREES (1: its queue, a request under review, record a favourable
opinion), platform (1: its queue and a request), data holder (1: its task queue and a request),
management (1: the delay dashboard, filtered or not, and the queue of every open request).

Each HTTP request is one step followed by the think time (0.5-1.5 s): a POST's redirect is read
as the next step, so the think-time limit of the throughput is users / 1 s. Every write the server
acknowledges (a redirect after a POST) is appended to LOAD_WRITES, one JSON object per line
(kind, reference, actor and what the database must show), for run.py to check against the
database. Each locust user takes its own account of the persona (round robin over LOAD_ACCOUNTS);
two users never act on the same request (a claim shared by the users of this process).
"""

from __future__ import annotations

import html
import itertools
import json
import os
import random
import re
import threading
import time
import uuid
from collections.abc import Iterator

from locust import HttpUser, between, events, task

ACCOUNTS = json.loads(open(os.environ["LOAD_ACCOUNTS"], encoding="utf-8").read()) if os.environ.get(
    "LOAD_ACCOUNTS") else {}
WRITES = os.environ.get("LOAD_WRITES", "writes.jsonl")
SAMPLES = os.environ.get("LOAD_SAMPLES", "")  # every request's time, for run.py's figures
# A one-page PDF: the draft's required documents (HDH_SUBMIT_REQUIRED_ATTACHMENTS' defaults).
PDF = (b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
       b"2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n"
       b"3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >> endobj\n"
       b"trailer << /Root 1 0 R >>\n%%EOF\n")
REQUIRED_DOCUMENTS = ("protocol", "data_management_plan")
REFERENCE = re.compile(r"/requests/([A-Za-z0-9][A-Za-z0-9._-]{0,31})/")

_accounts = {persona: itertools.cycle(emails) for persona, emails in ACCOUNTS.get("personas", {}).items()}
_claimed: set[str] = set()  # requests a user of this process is acting on, or has acted on
_lock = threading.Lock()
_samples: list[tuple[str, str, float, float, bool]] = []  # method, name, start, ms, failed


# The tags Forms reads, and their attributes (the pages' templates write every value in double quotes).
_TAG = re.compile(r"<(/?)(form|input)\b([^>]*)>", re.IGNORECASE)
_ATTRIBUTE = re.compile(r'([^\s=/>"]+)(?:\s*=\s*"([^"]*)")?')


class Forms:
    """The forms of a page: action -> {name: value} of its hidden and pre-filled inputs, and the
    values offered by its checkboxes and radio buttons (name -> list).

    Read with a regular expression over the form and input tags, not a full HTML parser: the
    client shares the server's two cores, and ``html.parser`` took 3-4 ms of them per page."""

    def __init__(self, html: str) -> None:
        self.forms: dict[str, dict[str, str]] = {}
        self.choices: dict[str, dict[str, list[str]]] = {}
        action: str | None = None
        for match in _TAG.finditer(html):
            closing, tag = match.group(1), match.group(2).lower()
            if tag == "form":
                if closing:
                    action = None
                    continue
                action = self._attributes(match.group(3)).get("action", "")
                self.forms.setdefault(action, {})
                self.choices.setdefault(action, {})
            elif not closing and action is not None:
                values = self._attributes(match.group(3))
                if not values.get("name"):
                    continue
                kind = values.get("type", "text")
                if kind in ("checkbox", "radio"):
                    self.choices[action].setdefault(values["name"], []).append(values.get("value", "on"))
                elif kind != "file":
                    self.forms[action][values["name"]] = values.get("value", "")

    @staticmethod
    def _attributes(text: str) -> dict[str, str]:
        return {name.lower(): html.unescape(value or "") for name, value in _ATTRIBUTE.findall(text)}


def record(kind: str, reference: str, actor: str, **expected) -> None:
    """An acknowledged write, for run.py to find in the database."""
    line = json.dumps({"kind": kind, "reference": reference, "actor": actor, "at": time.time(), **expected})
    with _lock, open(WRITES, "a", encoding="utf-8") as out:
        out.write(line + "\n")


def claim(references: list[str]) -> str | None:
    """One of ``references`` no other user has taken."""
    with _lock:
        free = [r for r in references if r not in _claimed]
        if not free:
            return None
        chosen = random.choice(free[:10])
        _claimed.add(chosen)
        return chosen


@events.request.add_listener
def _sample(request_type, name, response_time, exception, start_time=None, **_kwargs) -> None:
    _samples.append((request_type, name, start_time or time.time() - response_time / 1000, response_time,
                     exception is not None))


@events.quitting.add_listener
def _write_samples(environment, **_kwargs) -> None:
    if SAMPLES:
        with open(SAMPLES, "w", encoding="utf-8") as out:
            json.dump(_samples, out)


class Persona(HttpUser):
    """Signs in once with its persona's account, then runs ``steps()``: one HTTP request per step."""

    abstract = True
    wait_time = between(0.5, 1.5)
    persona = ""

    def on_start(self) -> None:
        self.email = next(_accounts[self.persona])
        page = self.client.get("/accounts/login/", name="login page")
        token = Forms(page.text).forms.get("", {}).get("csrfmiddlewaretoken")
        with self.client.post("/accounts/login/", name="login", allow_redirects=False, catch_response=True, data={
            "csrfmiddlewaretoken": token, "username": self.email, "password": ACCOUNTS["password"],
        }) as response:
            if response.status_code != 302:
                response.failure(f"sign-in refused ({response.status_code})")
        self._steps = self.steps()
        self._requests = 0

    @task
    def step(self) -> None:
        """One HTTP request: the steps' generator runs until it has made one (a path that found
        nothing to do makes none and goes on with the next round)."""
        made = self._requests
        for _attempt in range(20):
            try:
                next(self._steps)
            except StopIteration:
                self._steps = self.steps()
            if self._requests > made:
                return

    def steps(self) -> Iterator[None]:
        raise NotImplementedError

    # --- helpers: each call is one HTTP request ---------------------------------------------------
    def get(self, url: str, name: str):
        self._requests += 1
        return self.client.get(url, name=name)

    def post(self, url: str, name: str, data: dict, files=None, written: dict | None = None) -> str | None:
        """A form's POST, the redirect (the acknowledgement) not followed: its Location, or None
        if refused. ``written`` (kind, reference, and what to find) is recorded at once when
        acknowledged; a reference None is taken from the Location."""
        self._requests += 1
        with self.client.post(url, name=name, data=data, files=files, allow_redirects=False,
                              catch_response=True) as response:
            if response.status_code not in (302, 303):
                response.failure(f"not acknowledged ({response.status_code})")
                return None
            location = response.headers["Location"]
        if written:
            expected = dict(written)
            reference = expected.pop("reference", None) or REFERENCE.search(location).group(1)
            record(expected.pop("kind"), reference, self.email, **expected)
        return location


class Applicant(Persona):
    weight = 4
    persona = "applicant"

    def steps(self) -> Iterator[None]:
        page = self.get("/portal/", "portal: my requests")
        yield
        mine = REFERENCE.findall(page.text)
        if mine:
            self.get(f"/portal/requests/{random.choice(mine)}/", "portal: a request's page")
            yield
        # A new draft: created, saved with the rest of its text, given its documents, submitted.
        page = self.get("/portal/new/", "portal: new draft form")
        yield
        forms = Forms(page.text)  # the draft form posts to its own address (no action)
        hidden, choices = forms.forms.get("", {}), forms.choices.get("", {})
        title = f"Charge {uuid.uuid4().hex[:12]} — cohorte de test"
        datasets = random.sample(choices.get("datasets", []), k=min(2, len(choices.get("datasets", []))))
        location = self.post("/portal/new/", "portal: create draft", {
            **hidden, "title": title, "summary": "Étude de charge : résumé.", "route": "standard",
            "datasets": datasets}, written={"kind": "draft_created", "reference": None, "title": title})
        yield
        if location is None:
            return
        reference = REFERENCE.search(location).group(1)
        detail = f"/portal/requests/{reference}/"
        self.get(detail, "portal: a request's page")
        yield
        page = self.get(f"{detail}edit/", "portal: edit draft form")
        yield
        hidden = Forms(page.text).forms.get("", {})
        title = f"{title} (enregistré)"
        location = self.post(f"{detail}edit/", "portal: save draft", {
            **hidden, "title": title, "summary": "Étude de charge : résumé.", "route": "standard",
            "datasets": datasets, "public_interest": "Intérêt public de l'étude de charge.",
            "methodology": "Méthodologie de l'étude de charge."},
            written={"kind": "draft_saved", "reference": reference, "title": title})
        yield
        if location is None:
            return
        page = self.get(detail, "portal: a request's page")
        yield
        for kind in REQUIRED_DOCUMENTS:
            hidden = Forms(page.text).forms.get(f"{detail}attachments/", {})
            name = f"{kind}-{uuid.uuid4().hex[:8]}.pdf"
            location = self.post(f"{detail}attachments/", "portal: upload a document", {**hidden, "kind": kind},
                                 files={"file": (name, PDF, "application/pdf")},
                                 written={"kind": "attachment", "reference": reference, "name": name})
            yield
            if location is None:
                return
            page = self.get(detail, "portal: a request's page")
            yield
        hidden = Forms(page.text).forms.get(f"{detail}submit/", {})
        location = self.post(f"{detail}submit/", "portal: submit", {**hidden, "certify": "on"},
                             written={"kind": "event", "reference": reference, "action": "submit"})
        yield
        if location is None:
            return
        self.get(detail, "portal: a request's page")
        yield


class Reviewer(Persona):
    """Reads its queue, opens a request waiting on it, acts on it."""

    abstract = True
    state = ""
    action = ""
    event = ""
    fields: dict[str, str] = {}

    def steps(self) -> Iterator[None]:
        self.get("/backoffice/", "backoffice: queue")
        yield
        page = self.get(f"/backoffice/?state={self.state}", f"backoffice: queue ({self.state})")
        yield
        reference = claim(list(dict.fromkeys(REFERENCE.findall(page.text))))
        if reference is None:
            return
        detail = f"/backoffice/requests/{reference}/"
        page = self.get(detail, "backoffice: a request's page")
        yield
        target = f"{detail}act/{self.action}/"
        hidden = Forms(page.text).forms.get(target)
        if hidden is None:  # not (or no longer) at this stage
            return
        acknowledged = self.post(target, f"backoffice: {self.action}", {**hidden, **self.fields},
                                 written={"kind": "event", "reference": reference, "action": self.event})
        yield
        if acknowledged is None:
            return
        self.get(detail, "backoffice: a request's page")
        yield


class Secretariat(Reviewer):
    weight = 2
    persona = "secretariat"
    state = "submitted"
    action = event = "forward_to_cesrees"
    fields = {"comment": ""}


class Cesrees(Reviewer):
    weight = 1
    persona = "cesrees"
    state = "cesrees_review"
    action = event = "record_cesrees_opinion"
    fields = {"opinion": "favourable", "comment": ""}


class Platform(Persona):
    weight = 1
    persona = "platform"

    def steps(self) -> Iterator[None]:
        page = self.get("/backoffice/", "backoffice: queue")
        yield
        listed = REFERENCE.findall(page.text)
        if listed:
            self.get(f"/backoffice/requests/{random.choice(listed)}/", "backoffice: a request's page")
            yield


class Holder(Persona):
    weight = 1
    persona = "holder"

    def steps(self) -> Iterator[None]:
        page = self.get("/backoffice/", "backoffice: holder tasks")
        yield
        listed = REFERENCE.findall(page.text)
        if listed:
            self.get(f"/backoffice/requests/{random.choice(listed)}/", "backoffice: a request's page")
            yield


class Management(Persona):
    weight = 1
    persona = "management"

    def steps(self) -> Iterator[None]:
        self.get("/backoffice/delays/", "backoffice: delay dashboard")
        yield
        year = random.choice((2022, 2023, 2024))
        self.get(f"/backoffice/delays/?submitted_from={year}-01-01&submitted_to={year}-12-31",
                 "backoffice: delay dashboard (a year)")
        yield
        self.get("/backoffice/", "backoffice: queue")
        yield
