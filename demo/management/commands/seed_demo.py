"""python manage.py seed_demo [--password PW] [--requests 300] [--force] [--if-empty]

Demo data, dated from the moment it is seeded, so the demo looks right whenever it is loaded:

- accounts for each role (ACCOUNTS below), only when DEBUG is on or with --force: they have
  a known password;
- four years of history (demo.history, the demo's calibration: about 300 dossiers by default)
  and the demo's scenarios (demo.scenarios: a realistic load in every queue), imported through
  the history import, which validates every row with the workflow;
- what happens "now", through the services: the demo applicant files a dossier, the secretariat
  asks the applicant for information, the CNAM and the ATIH move their tasks of a three-holder
  dossier on, reviewers take dossiers of their queue, save a few queue filters and follow a few
  dossiers; messages: the secretariat asks for a missing document on the dossier just filed and
  the applicant answers with it, an exchange with the CESREES read by both sides, an internal
  note, a question of the applicant waiting for the secretariat, and an external expert invited
  by the CESREES;
- the delay rows and the forecast baseline refreshed, then a summary of each queue.

Once loaded, running it again changes no dossier (it only updates the demo accounts);
``--if-empty`` (``make run``) does nothing as soon as any request exists.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Count
from django.http import QueryDict
from django.utils import timezone
from django.utils.http import urlencode

from access_requests import services
from access_requests.history_import import HistoryImportError, import_history
from access_requests.models import AccessRequest, HolderTask
from access_requests.workflow import REVIEWER_ROLES, InformationReason, Role, State
from accounts.models import Organisation, Profile
from backoffice import selectors
from backoffice import services as backoffice_services
from backoffice.forms import QueueFilterForm, normalised_query
from catalog.models import DataHolder, Dataset
from delays import rules
from delays.materialise import refresh_open_delays
from delays.models import DelayBaseline, RequestDelay
from delays.statistics import route_medians
from demo.scenarios import HOLDERS_APART, PAUSED_NOW, DemoHistory, demo_history, write_demo_csv
from hdh_access.lib.dates import paris_date

DEFAULT_PASSWORD = "Demo-HDH-2026!"
SEED = 2022
DEMO_ORGANISATION = "Inserm — équipe de démonstration"
# The organisations of the other applicants (their dossiers have no demo account).
OTHER_ORGANISATIONS = (
    "CHU de Lille — épidémiologie", "Université de Bordeaux — ISPED", "AP-HP — direction de la recherche",
    "Institut Curie — recherche clinique", "Santé publique France — études",
)
# email, role (group), data holder code, is applicant of the demo organisation
ACCOUNTS = [
    ("demandeur@example.org", None, None, True),
    ("secretariat@example.org", Role.SECRETARIAT, None, False),
    ("cesrees@example.org", Role.CESREES, None, False),
    ("cnil@example.org", Role.CNIL, None, False),
    ("cnam@example.org", Role.DATA_HOLDER, "cnam", False),
    ("atih@example.org", Role.DATA_HOLDER, "atih", False),
    ("chu-bordeaux@example.org", Role.DATA_HOLDER, "chu-bordeaux", False),
    ("plateforme@example.org", Role.PLATFORM, None, False),
    ("direction@example.org", Role.MANAGEMENT, None, False),
]
# The names the pages show (assignee, history), made up.
NAMES = {
    "demandeur@example.org": ("Camille", "Durand"), "secretariat@example.org": ("Sophie", "Bernard"),
    "cesrees@example.org": ("Marc", "Lefèvre"), "cnil@example.org": ("Nadia", "Benali"),
    "cnam@example.org": ("Julien", "Moreau"), "atih@example.org": ("Claire", "Fontaine"),
    "chu-bordeaux@example.org": ("Élise", "Garnier"),
    "plateforme@example.org": ("Thomas", "Petit"), "direction@example.org": ("Hélène", "Roux"),
}
# Who takes which scenario's dossier in hand now (an assignment event).
ASSIGNED = (
    ("secretariat-overdue", "secretariat@example.org"), ("cesrees-urgent", "cesrees@example.org"),
    ("cnil-overdue", "cnil@example.org"), ("cnam-matching-long", "cnam@example.org"),
    ("hospital-extraction-long", "chu-bordeaux@example.org"),
)
# Each reviewer's saved queue filters: (email, name, the queue's parameters; a dataset by its code).
SAVED_FILTERS: tuple[tuple[str, str, dict[str, str]], ...] = (
    ("secretariat@example.org", "Délai légal dépassé", {"badge": "overdue"}),
    ("secretariat@example.org", "Cancers, toutes étapes", {"q": "cancer", "scope": "all"}),
    ("cesrees@example.org", "Objectif de 7 mois à risque", {"scope": "open", "status": "at_risk"}),
    ("cesrees@example.org", "Mes dossiers", {"assignee": "me"}),
    ("cnil@example.org", "Échéance proche", {"badge": "due_soon"}),
    ("cnam@example.org", "SNDS en appariement", {"dataset": "snds", "state": State.MATCHING}),
    ("chu-bordeaux@example.org", "En attente du demandeur", {"scope": "paused"}),
    ("atih@example.org", "PMSI, toutes étapes", {"dataset": "pmsi", "scope": "all"}),
    ("plateforme@example.org", "Données livrées, à clôturer", {"state": State.DELIVERED, "sort": "waiting"}),
    ("direction@example.org", "Objectif de 7 mois dépassé", {"scope": "open", "status": "late"}),
)
# Who follows which scenario's dossier (an email at each of its events made by someone else).
FOLLOWED = (
    ("secretariat@example.org", "cnil-overdue"), ("secretariat@example.org", "cnam-matching-long"),
    ("cesrees@example.org", "cnil-paused"), ("cnil@example.org", "cnam-contracting"),
    ("cnam@example.org", "cnam-matching-long"), ("chu-bordeaux@example.org", "hospital-extraction-long"),
    ("plateforme@example.org", "cnam-extraction"),
)
# A one-page PDF: the attachments of the dossier the demo applicant files.
DEMO_PDF = (b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
            b"2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n"
            b"3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >> endobj\n"
            b"trailer << /Root 1 0 R >>\n%%EOF\n")
FILED_NOW = {
    "title": "Imagerie et parcours en cancérologie — cohorte régionale",
    "summary": "Décrire les parcours de soins des patients atteints de cancer du poumon à partir des "
               "données d'imagerie d'APRIORICS appariées au SNDS.",
    "public_interest": "Réduire les délais de diagnostic et les inégalités d'accès à l'imagerie.",
    "methodology": "Cohorte rétrospective 2015-2025, appariement déterministe sur le NIR pseudonymisé.",
    "team_members": "Équipe de démonstration (Inserm), deux biostatisticiens, un médecin de santé publique.",
}
QUESTION = ("Le plan de gestion des données ne précise pas la durée de conservation des données "
            "appariées : merci de le compléter.")
# The thread of the dossier the demo applicant files now, and of two of their other dossiers.
MISSING_LETTER = ("Il manque la lettre d'engagement du responsable de traitement, signée : merci de la joindre "
                  "à votre réponse.")
LETTER_SENT = "Voici la lettre d'engagement signée par la directrice de l'unité."
CESREES_NEWS = ("Le rapporteur de votre dossier est désigné ; le comité l'examinera lors de sa prochaine séance. "
                "Vous recevrez son avis par cette messagerie et par courriel.")
CESREES_THANKS = "Merci. Nous restons disponibles pour présenter le protocole au comité si besoin."
INTERNAL_NOTE = "Dossier complet, en attente de la relecture du protocole par le référent méthodologie."
APPLICANT_QUESTION = ("Faut-il une durée de conservation précise, ou une fourchette selon la durée du suivi "
                      "suffit-elle ?")
EXPERT_EMAIL = "rapporteur.externe@example.org"


class Command(BaseCommand):
    help = "Load demo accounts, four years of history and a realistic load in every queue."

    def add_arguments(self, parser):
        parser.add_argument("--password", help=f"demo accounts' password (default: {DEFAULT_PASSWORD})")
        parser.add_argument("--requests", type=int, default=300, help="generated past dossiers (default 300)")
        parser.add_argument("--force", action="store_true", help="create demo accounts even when DEBUG is off")
        parser.add_argument("--if-empty", action="store_true", help="do nothing if any request exists")

    def handle(self, *args, password=None, requests=300, force=False, if_empty=False, **options):
        started = time.monotonic()
        if requests < 0:
            raise CommandError("--requests must be positive")
        if if_empty and AccessRequest.objects.exists():
            self.stdout.write("seed_demo: requests already present, nothing to do")
            return
        organisation, _created = Organisation.objects.get_or_create(name=DEMO_ORGANISATION)
        personas: dict[str, User] = {}
        if settings.DEBUG or force:
            personas = self._accounts(organisation, password)
        else:
            self.stdout.write("seed_demo: DEBUG is off, no demo accounts (use --force)")
        if AccessRequest.objects.filter(organisation=organisation).exists():
            self.stdout.write("seed_demo: the demo dossiers are already loaded, nothing imported")
            return

        now = timezone.now()
        # Each data holder at its own pace after the decision (the import's holder column).
        holders_of = dict(Dataset.objects.values_list("code", "holder__code"))
        history = demo_history(now, requests=requests, seed=SEED, holders_of=holders_of)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "demo.csv"
            write_demo_csv(path, history)
            try:
                result = import_history(path)
            except HistoryImportError as exc:  # the demo and the importer disagree: a bug
                raise CommandError(f"demo history refused by the import:\n{exc}") from exc
        ids = dict(AccessRequest.objects.filter(pk__in=result.request_ids).values_list("reference", "pk"))
        attached = self._attach(history, ids, organisation, personas.get("demandeur@example.org"))
        filed = self._act_now(history, ids, personas)
        refresh_open_delays(now=timezone.now())
        self.stdout.write(
            f"seed_demo: {result.created} requests imported ({len(history.generated)} generated since "
            f"{paris_date(history.start)}, {len(history.scenarios)} demo scenarios); "
            f"{attached} given to {organisation.name} or another applicant organisation"
            + (f"; {filed} filed now by the demo applicant" if filed else ""))
        self._summary(personas)
        self.stdout.write(f"seed_demo: done in {time.monotonic() - started:.1f} s")

    # --- accounts and organisations ---------------------------------------------------------------
    def _accounts(self, organisation: Organisation, password: str | None) -> dict[str, User]:
        chosen = password or DEFAULT_PASSWORD
        users = {}
        for email, role, holder, is_applicant in ACCOUNTS:
            first_name, last_name = NAMES[email]
            user, created = User.objects.get_or_create(username=email, defaults={
                "email": email, "first_name": first_name, "last_name": last_name})
            if created or password:
                user.set_password(chosen)
                user.save(update_fields=["password"])
            Profile.objects.update_or_create(user=user, defaults={
                "organisation": organisation if is_applicant else None,
                "data_holder": DataHolder.objects.get(code=holder) if holder else None,
                # Management reads the Monday delay report.
                "weekly_report": role == Role.MANAGEMENT,
            })
            if role:
                user.groups.add(Group.objects.get(name=role))
            users[email] = user
        self.stdout.write(f"seed_demo: demo accounts ({', '.join(a[0] for a in ACCOUNTS)}) "
                          f"with password {chosen!r}")
        return users

    def _attach(self, history: DemoHistory, ids: dict[str, int], organisation: Organisation,
                applicant: User | None) -> int:
        """A third of the past dossiers and the scenarios marked so are the demo applicant's; the
        others go round the other organisations."""
        others = [Organisation.objects.get_or_create(name=name)[0] for name in OTHER_ORGANISATIONS]
        mine = [ids[ref] for ref in history.generated[::3]]
        mine += [ids[ref] for ref, scenario in history.scenarios.values() if scenario.demo_applicant]
        rest = [ids[ref] for ref in history.generated if ids[ref] not in set(mine)]
        rest += [ids[ref] for ref, scenario in history.scenarios.values() if not scenario.demo_applicant]
        attached = services.attach_to_organisation(request_ids=mine, organisation=organisation, applicant=applicant)
        for index, other in enumerate(others):
            attached += services.attach_to_organisation(request_ids=rest[index::len(others)], organisation=other)
        return attached

    # --- what happens now, through the services ---------------------------------------------------
    def _act_now(self, history: DemoHistory, ids: dict[str, int], personas: dict[str, User]) -> int:
        """The secretariat pauses a dossier; with the demo accounts, the applicant files one (and
        answers an information request on it), reviewers take dossiers in hand, write messages and
        a note, invite an expert, save filters and follow dossiers. Returns how many dossiers the
        applicant filed."""
        def pk(key: str) -> int:
            return ids[history.scenarios[key][0]]

        services.request_information(
            request_id=pk(PAUSED_NOW), actor=personas.get("secretariat@example.org"), question=QUESTION,
            reason=InformationReason.INCOMPLETE, expected_state=State.SUBMITTED)
        # Three holders, three stages: the CNAM extracts, the ATIH matches, the CHU has not signed.
        tasks = {t.holder.code: t for t in HolderTask.objects.filter(request_id=pk(HOLDERS_APART))
                 .select_related("holder")}
        for code, email, actions in (
            ("cnam", "cnam@example.org", ("record_contract_signed", "record_matching_done")),
            ("atih", "atih@example.org", ("record_contract_signed",)),
        ):
            for action in actions:
                services.act_on_task(task_id=tasks[code].pk, actor=personas.get(email), action=action)
        if not personas:
            return 0
        services.assign_task(task_id=tasks["cnam"].pk, actor=personas["cnam@example.org"],
                             assignee=personas["cnam@example.org"])
        for key, email in ASSIGNED:
            services.assign(request_id=pk(key), actor=personas[email], assignee=personas[email])
        secretariat, cesrees = personas["secretariat@example.org"], personas["cesrees@example.org"]
        services.post_message(request_id=pk("secretariat-overdue"), actor=secretariat, body=INTERNAL_NOTE,
                              internal=True, acting_as=REVIEWER_ROLES)
        applicant = personas["demandeur@example.org"]
        self._threads(pk, applicant, secretariat, cesrees)
        draft = services.create_draft(actor=applicant, title=FILED_NOW["title"], summary=FILED_NOW["summary"],
                                      datasets=Dataset.objects.filter(code__in=("snds", "apriorics")))
        services.update_draft(request_id=draft.pk, actor=applicant, public_interest=FILED_NOW["public_interest"],
                              methodology=FILED_NOW["methodology"], team_members=FILED_NOW["team_members"])
        for kind in settings.HDH_SUBMIT_REQUIRED_ATTACHMENTS:
            services.add_attachment(request_id=draft.pk, actor=applicant, kind=kind,
                                    uploaded=SimpleUploadedFile(f"{kind}.pdf", DEMO_PDF, content_type="application/pdf"))
        services.submit(request_id=draft.pk, actor=applicant, expected_state=State.DRAFT)
        # An information request on it, and the applicant's answer with the missing document.
        services.request_information(request_id=draft.pk, actor=secretariat, question=MISSING_LETTER,
                                     reason=InformationReason.INCOMPLETE, expected_state=State.SUBMITTED,
                                     acting_as=REVIEWER_ROLES)
        services.answer_information(
            request_id=draft.pk, actor=applicant, answer=LETTER_SENT, expected_state=State.AWAITING_APPLICANT,
            uploads=[SimpleUploadedFile("lettre-engagement.pdf", DEMO_PDF, content_type="application/pdf")])
        self._finding_things(personas, pk)
        return 1

    def _threads(self, pk: Callable[[str], int], applicant: User, secretariat: User, cesrees: User) -> None:
        """Messages read by both sides on a dossier at the CESREES, an external expert invited to
        read it, and a question of the applicant on the paused dossier, for the secretariat."""
        reviewed = pk("cesrees-extended")
        news = services.post_message(request_id=reviewed, actor=cesrees, body=CESREES_NEWS, acting_as=REVIEWER_ROLES)
        services.mark_read(request_id=reviewed, actor=applicant, message_ids=[news.pk], acting_as={Role.APPLICANT})
        thanks = services.post_message(request_id=reviewed, actor=applicant, body=CESREES_THANKS,
                                       acting_as={Role.APPLICANT})
        services.mark_read(request_id=reviewed, actor=cesrees, message_ids=[thanks.pk], acting_as=REVIEWER_ROLES)
        services.invite_expert(request_id=reviewed, actor=cesrees, email=EXPERT_EMAIL, acting_as=REVIEWER_ROLES)
        services.post_message(request_id=pk(PAUSED_NOW), actor=applicant, body=APPLICANT_QUESTION,
                              acting_as={Role.APPLICANT})

    def _finding_things(self, personas: dict[str, User], pk: Callable[[str], int]) -> None:
        """Reviewers' saved filters (stored as the queue's form would store them) and followed
        dossiers, last: the follows cause no email of the seeding's own actions."""
        for email, name, params in SAVED_FILTERS:
            values = dict(params)
            if "dataset" in values:
                values["dataset"] = str(Dataset.objects.get(code=values["dataset"]).pk)
            form = QueueFilterForm(QueryDict(urlencode(values)))
            if not form.is_valid():  # the demo and the queue's form disagree: a bug
                raise CommandError(f"demo filter {name!r} refused by the queue's form: {form.errors.as_json()}")
            backoffice_services.save_filter(actor=personas[email], name=name, query=normalised_query(form))
        for email, key in FOLLOWED:
            services.follow(request_id=pk(key), actor=personas[email])

    # --- the summary --------------------------------------------------------------------------------
    def _summary(self, personas: dict[str, User]) -> None:
        today = timezone.localdate()
        for email, user in personas.items():
            if email == "demandeur@example.org":
                mine = AccessRequest.objects.filter(applicant=user)
                self.stdout.write(f"  {email}: {mine.exclude(state__in=_ENDED).count()} open dossiers, "
                                  f"{mine.filter(state=State.AWAITING_APPLICANT).count()} awaiting their answer")
                continue
            if not selectors.can_open_backoffice(user):
                continue
            if selectors.sees_holder_tasks(user):
                tasks = selectors.holder_task_queue(user, selectors.QueueFilters(), today=today)
                overdue = selectors.holder_task_queue(user, selectors.QueueFilters(badge=selectors.Badge.OVERDUE),
                                                      today=today).count()
                by_state = tasks.order_by().values_list("state").annotate(n=Count("pk")).order_by("state")
                self.stdout.write(f"  {email}: {tasks.count()} open tasks in the queue "
                                  f"({', '.join(f'{n} {state}' for state, n in by_state)}); {overdue} overdue")
                continue
            queue = selectors.queue(user, selectors.QueueFilters(), today=today)
            counts = {badge: selectors.queue(user, selectors.QueueFilters(badge=badge), today=today).count()
                      for badge in (selectors.Badge.DUE_SOON, selectors.Badge.OVERDUE)}
            paused = selectors.queue(user, selectors.QueueFilters(scope=selectors.Scope.PAUSED), today=today).count()
            states = ", ".join(f"{n} {state}" for state, n in _by_state(queue))
            self.stdout.write(f"  {email}: {queue.count()} in the queue ({states}); "
                              f"{counts[selectors.Badge.DUE_SOON]} due soon, {counts[selectors.Badge.OVERDUE]} overdue, "
                              f"{paused} paused")
        open_target = RequestDelay.objects.filter(requires_matching=True, ended_at__isnull=True)
        statuses = dict(open_target.values_list("status").annotate(n=Count("pk")).order_by())
        self.stdout.write(
            "  management: open dossiers of the 7-month target: "
            + ", ".join(f"{statuses.get(s, 0)} {s}" for s in (rules.STATUS_ON_TRACK, rules.STATUS_AT_RISK, rules.STATUS_LATE)))
        for row in DelayBaseline.objects.order_by("key"):
            for route, medians in (row.medians.get("routes") or {}).items():
                count = int(medians.get(rules.HISTORY_KEY) or 0)
                if count:
                    days = sum(float(v) for k, v in route_medians(row.medians, route).items()
                               if k in rules.STANDARD_PATH)
                    self.stdout.write(f"  forecast baseline {row.key}/{route}: {count} deliveries, "
                                      f"stage medians summing to {days:.0f} days")


_ENDED = (State.DELIVERED, State.CLOSED, State.REJECTED, State.WITHDRAWN)


def _by_state(queue) -> Iterable[tuple[str, int]]:
    return queue.order_by().values_list("state").annotate(n=Count("pk")).order_by("state")
