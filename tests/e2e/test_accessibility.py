"""Accessibility in Chromium (issue 14, RGAA 4.1): every page each kind of user can reach passes
axe-core's WCAG 2.1 A and AA rules with no violation at all, error pages and forms showing their
errors included; and two forms are used with the keyboard alone.

On every page, besides axe:
- the skip links lead to elements that exist, and every aria-describedby, aria-labelledby and
  aria-controls names an element that exists (axe only flags a wholly broken reference, and
  only as "to review");
- axe's other "to review" results fail the test, except the contrasts axe cannot compute (a
  background image: DSFR icons, underlined links), which are measured here between the text's
  colour and the background colours beneath it: at least 4.5:1 (3:1 for large text);
- a form sent back with errors starts with its error summary, which has the focus, and the
  page title starts with "Erreur :".

One browser context per kind of user, all on the same data, with DEBUG off (the site's error
pages). The lowest contrast measured is printed: the accessibility statement quotes it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pytest

from access_requests import services as request_services
from access_requests.models import AccessRequest
from access_requests.workflow import Role, State
from accounts.models import MembershipRequest
from backoffice import services as backoffice_services
from backoffice.models import SavedFilter
from tests.conftest import PASSWORD, make_user, use_private_media
from tests.e2e.conftest import AXE, login

pytestmark = pytest.mark.django_db(transaction=True)

WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
# "To review" results checked another way (below): every other one fails the test.
MEASURED_HERE = {"color-contrast"}
# Django's admin (its own look, not the DSFR's) lists each application's models in tables whose
# header cells axe cannot pair with data cells: reviewed, each row is a model (its header) and
# the model's links (its cells).
REVIEWED_IN_ADMIN = {"th-has-data-cells"}

RUN_AXE = """async (tags) => {
  const result = await axe.run(document, {runOnly: {type: 'tag', values: tags},
                                          resultTypes: ['violations', 'incomplete']});
  const brief = (items) => items.map(v => ({id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.map(n => ({target: n.target, why: [...n.any, ...n.all, ...n.none].map(c => c.message)}))}));
  return {violations: brief(result.violations), incomplete: brief(result.incomplete)};
}"""

# Every id named by an ARIA reference or a skip link, that the page does not hold (the site's
# pages have three skip links or more; Django's admin, its one "skip to main content" link).
BROKEN_REFERENCES = """(minimum) => {
  const broken = [];
  for (const attribute of ['aria-describedby', 'aria-labelledby', 'aria-controls']) {
    for (const element of document.querySelectorAll(`[${attribute}]`)) {
      for (const id of element.getAttribute(attribute).split(/\\s+/).filter(Boolean)) {
        if (!document.getElementById(id)) broken.push(`${attribute}=${id} on ${element.outerHTML.slice(0, 80)}`);
      }
    }
  }
  const skiplinks = [...document.querySelectorAll('.fr-skiplinks a, a.skip-to-content-link')];
  if (skiplinks.length < minimum) broken.push(`only ${skiplinks.length} skip links`);
  for (const link of skiplinks) {
    const id = link.getAttribute('href').slice(1);
    if (!document.getElementById(id)) broken.push(`skip link to #${id}`);
  }
  return broken;
}"""

# The contrast of each element: its text colour over the background colours of it and its
# ancestors (background images, the DSFR's icons and underlines, are ignored), WCAG's formula.
CONTRAST = """(selectors) => {
  const parse = (c) => { const m = c.match(/rgba?\\(([^)]+)\\)/); if (!m) return null;
    const p = m[1].split(/[ ,\\/]+/).filter(Boolean).map(Number);
    return {r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1}; };
  const over = (top, base) => { const a = top.a + base.a * (1 - top.a); const mix = (k) =>
    (top[k] * top.a + base[k] * base.a * (1 - top.a)) / a; return {r: mix('r'), g: mix('g'), b: mix('b'), a}; };
  const luminance = (c) => ['r', 'g', 'b'].map(k => { const v = c[k] / 255;
    return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); })
    .reduce((sum, v, i) => sum + v * [0.2126, 0.7152, 0.0722][i], 0);
  return selectors.map((selector) => {
    const element = document.querySelector(selector);
    const layers = [];
    for (let node = element; node; node = node.parentElement) layers.push(parse(getComputedStyle(node).backgroundColor));
    let background = {r: 255, g: 255, b: 255, a: 1};
    for (const layer of layers.reverse()) if (layer && layer.a > 0) background = over(layer, background);
    const style = getComputedStyle(element);
    const text = over(parse(style.color), background);
    const [light, dark] = [luminance(text), luminance(background)].sort((x, y) => y - x);
    const size = parseFloat(style.fontSize), bold = parseInt(style.fontWeight, 10) >= 700;
    return {selector, ratio: (light + 0.05) / (dark + 0.05), large: size >= 24 || (bold && size >= 18.66)};
  });
}"""

# The DSFR's scripts have started: its header modal, once set up for a wide screen, drops the
# aria-label it only needs as a dialog on a small screen (axe must not run before that).
DSFR_READY = "() => !!document.querySelector('.fr-header__menu[data-fr-js-header-modal]:not([aria-label])')"

SUMMARY_STATE = """() => ({focused: !!document.activeElement && document.activeElement.matches('[data-hdh-error-summary]'),
                            summary: !!document.querySelector('[data-hdh-error-summary]'), title: document.title})"""


@dataclass
class Visit:
    """A page to check: opened at ``path``; with ``submit``, the form is sent back with errors first."""

    path: str
    status: int = 200
    submit: str | None = None  # the submit button's selector
    open: str | None = None  # a disclosure (<summary>) to unfold before sending
    fill: dict[str, str] = field(default_factory=dict)
    tamper: bool = False  # break the CSRF token before sending (the CSRF failure page)


class Checker:
    """One browser context (one kind of user): visits pages and collects what is wrong."""

    def __init__(self, browser, live_server, email: str | None):
        self.context = browser.new_context(locale="fr-FR", viewport={"width": 1280, "height": 900},
                                           base_url=live_server.url)
        # axe-core is loaded in every page of the context through the DevTools protocol, outside
        # the page's Content-Security-Policy (a <script> tag holding it would be refused).
        self.context.add_init_script(path=str(AXE))
        self.page = self.context.new_page()
        self.page.set_default_timeout(10_000)
        self.problems: list[str] = []
        self.contrasts: list[float] = []  # the site's pages (DSFR colours)
        self.admin_contrasts: list[float] = []  # Django's admin
        self.checked = 0
        if email:
            login(self.page, email, PASSWORD)
            self.page.wait_for_url(re.compile(r"/(portal|backoffice)/"))

    def visit(self, visit: Visit) -> None:
        where = visit.path + (" (sent with errors)" if visit.submit else "")
        response = self.page.goto(visit.path)
        if response is None or response.status != (200 if visit.submit else visit.status):
            self.problems.append(f"{where}: HTTP {response and response.status}")
            return
        if visit.submit:
            if visit.open:
                self.page.locator(visit.open).click()
            for selector, value in visit.fill.items():
                self.page.fill(selector, value)
            if visit.tamper:
                self.page.evaluate("() => document.querySelectorAll('[name=csrfmiddlewaretoken]')"
                                   ".forEach(input => { input.value = 'x'.repeat(64); })")
            with self.page.expect_navigation():
                self.page.locator(visit.submit).click()
            if not visit.tamper:
                state = self.page.evaluate(SUMMARY_STATE)
                if not (state["summary"] and state["focused"] and state["title"].startswith("Erreur : ")):
                    self.problems.append(f"{where}: error summary or title wrong: {state}")
        self.check(where)

    def check(self, where: str) -> None:
        self.checked += 1
        admin = where.startswith("/admin/")  # Django's own pages: no DSFR
        if not admin:
            self.page.wait_for_function(DSFR_READY)
        result = self.page.evaluate(RUN_AXE, WCAG_TAGS)
        for violation in result["violations"]:
            self.problems.append(f"{where}: {violation['id']} ({violation['impact']}): {violation['help']} "
                                 f"{violation['nodes'][:3]}")
        for review in result["incomplete"]:
            if review["id"] not in MEASURED_HERE and not (admin and review["id"] in REVIEWED_IN_ADMIN):
                self.problems.append(f"{where}: to review {review['id']}: {review['nodes'][:3]}")
        self.problems.extend(f"{where}: {broken}" for broken in self.page.evaluate(BROKEN_REFERENCES, 1 if admin else 3))
        selectors = [node["target"][0] for review in result["incomplete"] if review["id"] in MEASURED_HERE
                     for node in review["nodes"] if len(node["target"]) == 1]
        for measure in self.page.evaluate(CONTRAST, selectors) if selectors else []:
            (self.admin_contrasts if admin else self.contrasts).append(measure["ratio"])
            if measure["ratio"] < (3 if measure["large"] else 4.5):
                self.problems.append(f"{where}: contrast {measure['ratio']:.2f}:1 at {measure['selector']}")
        if not self.page.title().strip():
            self.problems.append(f"{where}: no title")

    def close(self) -> list[str]:
        self.context.close()
        return self.problems


@pytest.fixture(autouse=True)
def production_pages(settings, tmp_path, monkeypatch):
    """DEBUG off (the site's error pages), and routes that fail on purpose (tests/test_error_pages.py)."""
    settings.DEBUG = False
    settings.ROOT_URLCONF = "tests.test_error_pages"
    use_private_media(settings, tmp_path, monkeypatch)


@pytest.fixture
def world(personas, make_request, organisation, production_completeness):
    """A request in each stage of the pathway, a pending request to join, the personas of tests/conftest.py."""
    requests = {state: make_request(state) for state in (
        State.DRAFT, State.AWAITING_APPLICANT, State.SUBMITTED, State.CESREES_REVIEW, State.CNIL_REVIEW,
        State.CONTRACTING, State.DELIVERED, State.REJECTED)}
    MembershipRequest.objects.create(user=make_user("nouvelle@inserm.example"), organisation=organisation)
    # The secretariat's saved filter and a dossier it follows (backoffice: "Mes filtres", "Suivi").
    backoffice_services.save_filter(actor=personas["secretariat"], name="Objectif dépassé", query="status=late")
    request_services.follow(request_id=requests[State.SUBMITTED].pk, actor=personas["secretariat"])
    # A thread on the dossier at the CESREES (a message each way, a read receipt, an internal note),
    # an external expert's link and a revoked one.
    reviewed = requests[State.CESREES_REVIEW]
    asked = request_services.post_message(request_id=reviewed.pk, actor=personas["cesrees"], body="Précisez la cohorte.")
    request_services.mark_read(request_id=reviewed.pk, actor=personas["applicant"], message_ids=[asked.pk],
                       acting_as={Role.APPLICANT})
    request_services.post_message(request_id=reviewed.pk, actor=personas["applicant"], body="12 000 patients.",
                          acting_as={Role.APPLICANT})
    request_services.post_message(request_id=reviewed.pk, actor=personas["cesrees"], body="À voir en séance.", internal=True)
    expert = request_services.invite_expert(request_id=reviewed.pk, actor=personas["cesrees"], email="expert@univ.example")
    revoked = request_services.invite_expert(request_id=reviewed.pk, actor=personas["cesrees"], email="ancien@univ.example")
    request_services.revoke_expert_invitation(invitation_id=revoked.invitation.pk, actor=personas["cesrees"])
    return {**{state: request.reference for state, request in requests.items()},
            "expert": expert.token, "expert_revoked": revoked.token}


def detail(reference: str) -> str:
    return f"/backoffice/requests/{reference}/"


def portal(reference: str, rest: str = "") -> str:
    return f"/portal/requests/{reference}/{rest}"


def action(name: str) -> dict:
    """The back-office action panel ``name`` sent empty."""
    return {"open": f"#action-{name} > summary", "submit": f"#action-{name} button[type=submit]"}


PUBLIC = ["/accessibilite/", "/mentions-legales/", "/donnees-personnelles/", "/cookies/", "/plan-du-site/"]


def pages_of(who: str, refs: dict) -> list[Visit]:
    if who == "anonymous":
        return [
            Visit("/"), Visit("/accounts/login/"), Visit("/accounts/login/", submit="main button[type=submit]"),
            Visit("/accounts/login/", submit="main button[type=submit]",
                  fill={"#id_username": "porteur@inserm.example", "#id_password": "pas-le-bon"}),
            Visit("/accounts/login/", submit="main button[type=submit]", tamper=True),  # the CSRF failure page
            Visit("/accounts/signup/"), Visit("/accounts/signup/", submit="main button[type=submit]"),
            Visit("/accounts/signup/done/"),
            Visit("/accounts/password-reset/"),
            Visit("/accounts/password-reset/", submit="main button[type=submit]", fill={"#id_email": "pas une adresse"}),
            Visit("/accounts/password-reset/done/"), Visit("/accounts/password-reset/complete/"),
            Visit("/accounts/password-reset/MQ/un-lien-perime/"), Visit("/accounts/confirm/MQ/un-lien-perime/", 400),
            *(Visit(path) for path in PUBLIC),
            Visit("/nulle-part/", 404), Visit("/tests/refused/", 403), Visit("/tests/suspicious/", 400),
            Visit("/tests/broken/", 500),
            Visit(f"/expert/{refs['expert']}/"), Visit(f"/expert/{refs['expert_revoked']}/", 410),
        ]
    if who == "applicant":
        return [
            Visit("/portal/"), Visit("/portal/?filter=ended"),
            Visit("/portal/new/"), Visit("/portal/new/", submit="main form button[type=submit]"),
            Visit(portal(refs[State.DRAFT])), Visit(portal(refs[State.DRAFT]), submit="#pieces form button[type=submit]"),
            Visit(portal(refs[State.DRAFT], "edit/")),
            Visit(portal(refs[State.AWAITING_APPLICANT])),
            Visit(portal(refs[State.AWAITING_APPLICANT]), submit="#complements button[type=submit]"),
            Visit(portal(refs[State.CESREES_REVIEW])), Visit(portal(refs[State.DELIVERED])),
            Visit(portal(refs[State.CESREES_REVIEW]), submit="#messages form button[type=submit]"),
            Visit(portal(refs[State.REJECTED])), Visit(portal(refs[State.SUBMITTED], "withdraw/")),
            Visit("/accounts/profile/"), Visit("/accounts/organisation/"),
            Visit("/accounts/password-change/"),
            Visit("/accounts/password-change/", submit="main button[type=submit]"),
            Visit("/accounts/password-change/done/"), Visit("/plan-du-site/"),
            Visit("/portal/requests/HDH-2020-9999/", 404), Visit("/backoffice/", 403),
        ]
    reviewer_pages = [Visit("/backoffice/"), Visit("/backoffice/delays/"), Visit("/accounts/profile/"),
                      Visit("/plan-du-site/")]
    if who == "secretariat":
        saved = SavedFilter.objects.get(name="Objectif dépassé").pk
        return [
            *reviewer_pages, Visit("/backoffice/?scope=all"),
            Visit("/backoffice/?scope=all&submitted_from=2024-02-31&q=AVC"),  # a bad filter, a warning
            Visit("/backoffice/?scope=followed"),
            Visit("/backoffice/?status=late", open="#save-filter > summary", submit="#save-filter button[type=submit]"),
            Visit("/backoffice/filters/"),
            Visit("/backoffice/filters/", submit=f"#filter-{saved} form button:has-text('Renommer')",
                  fill={f"#rename-{saved}-name": ""}),
            Visit(detail(refs[State.SUBMITTED])),
            Visit(detail(refs[State.SUBMITTED]), **action("request_information")),
            Visit(detail(refs[State.SUBMITTED]), submit="#messages button[type=submit]"),
            Visit(detail(refs[State.SUBMITTED]), submit="#experts button[type=submit]"),
            Visit(detail(refs[State.AWAITING_APPLICANT])), Visit(detail(refs[State.DELIVERED])),
            Visit("/backoffice/organisations/"),
            Visit("/backoffice/organisations/", submit="#merge ~ form button[type=submit]"),
            Visit("/portal/", 200),
        ]
    if who == "cesrees":
        return [*reviewer_pages, Visit(detail(refs[State.CESREES_REVIEW])),
                Visit(detail(refs[State.CESREES_REVIEW]), **action("record_cesrees_opinion")),
                Visit(detail(refs[State.CESREES_REVIEW]), submit="#messages button[type=submit]")]
    if who == "cnil":
        return [*reviewer_pages, Visit(detail(refs[State.CNIL_REVIEW])),
                Visit(detail(refs[State.CNIL_REVIEW]), **action("record_cnil_decision"))]
    if who == "cnam":
        return [*reviewer_pages, Visit("/backoffice/?scope=all"), Visit(detail(refs[State.CONTRACTING])),
                Visit(detail(refs[State.DELIVERED]))]
    if who == "platform":
        return [*reviewer_pages, Visit(detail(refs[State.DELIVERED])), Visit(detail(refs[State.CONTRACTING]))]
    if who == "management":
        return [*reviewer_pages, Visit(detail(refs[State.CESREES_REVIEW])), Visit("/backoffice/organisations/", 403)]
    if who == "superuser":
        submitted = AccessRequest.objects.get(reference=refs[State.SUBMITTED]).pk
        return [Visit("/portal/"), Visit("/backoffice/"), Visit(detail(refs[State.SUBMITTED])),
                Visit("/backoffice/organisations/"), Visit("/accounts/profile/"), Visit("/plan-du-site/"),
                Visit("/admin/"), Visit("/admin/access_requests/accessrequest/"),
                Visit(f"/admin/access_requests/accessrequest/{submitted}/change/"), Visit("/admin/auth/user/add/"),
                Visit("/admin/notifications/outboxmessage/"), Visit("/admin/access_requests/message/"),
                Visit("/admin/access_requests/expertinvitation/")]
    raise AssertionError(who)


ROLES = {  # who: the email of tests/conftest.py's persona (None: not signed in)
    "anonymous": None, "applicant": "porteur@inserm.example", "secretariat": "secretariat@hdh.example",
    "cesrees": "cesrees@hdh.example", "cnil": "cnil@cnil.example", "cnam": "cnam@cnam.example",
    "platform": "plateforme@hdh.example", "management": "direction@hdh.example", "superuser": "admin@hdh.example",
}


def test_every_page_of_every_kind_of_user_passes_axe_with_no_violation(browser, live_server, world):
    problems: dict[str, list[str]] = {}
    contrasts: list[float] = []
    admin_contrasts: list[float] = []
    checked = 0
    for who, email in ROLES.items():
        checker = Checker(browser, live_server, email)
        for visit in pages_of(who, world):
            checker.visit(visit)
        checked += checker.checked
        contrasts += checker.contrasts
        admin_contrasts += checker.admin_contrasts
        problems[who] = checker.close()
    print(f"{checked} pages checked; lowest contrast measured: {min(contrasts):.2f}:1 "
          f"(Django's admin: {min(admin_contrasts):.2f}:1)")
    assert problems == {who: [] for who in ROLES}
    assert checked >= 90
    # The accessibility statement (templates/pages/accessibility.html) quotes these two figures.
    assert min(contrasts) >= 4.9 and min(admin_contrasts) >= 4.5


# --- the keyboard alone ---------------------------------------------------------------------------
FOCUS = """() => {
  const element = document.activeElement;
  const ring = (node, pseudo) => { const style = getComputedStyle(node, pseudo);
    return style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0; };
  // DSFR checkboxes and radios draw their focus ring on their label; a link that covers a whole
  // block (fr-enlarge-link: the brand) on its ::before, which covers the block.
  const label = element.id && document.querySelector(`label[for="${element.id}"]`);
  // A date field's calendar button is in the browser's own shadow tree: the field is the active
  // element without matching :focus, and Chromium draws the button's ring itself.
  const picker = element.matches('input[type=date]') && !element.matches(':focus');
  const visible = ring(element) || ring(element, '::before')
                  || (!!label && (ring(label, '::before') || ring(label))) || picker;
  const style = getComputedStyle(element);
  return {id: element.id, tag: element.tagName.toLowerCase(), text: (element.innerText || '').trim().slice(0, 60),
          visible, outline: `${style.outlineStyle} ${style.outlineWidth}`, focusVisible: element.matches(':focus-visible')};
}"""


class Keyboard:
    """Tab through a page as a keyboard user does, checking that each focused element shows it."""

    def __init__(self, page):
        self.page = page
        self.unseen: list[dict] = []

    def focused(self) -> dict:
        focus = self.page.evaluate(FOCUS)
        if not focus["visible"]:
            self.unseen.append(focus)
        return focus

    def tab_to(self, matches, *, limit: int = 120) -> dict:
        for _ in range(limit):
            self.page.keyboard.press("Tab")
            focus = self.focused()
            if matches(focus):
                return focus
        raise AssertionError(f"never reached with Tab; last focus: {focus}")

    def tab_to_id(self, element_id: str) -> dict:
        return self.tab_to(lambda focus: focus["id"] == element_id)


def test_a_new_request_is_filled_in_and_sent_with_the_keyboard_alone(page, live_server, applicant):
    login(page, applicant.email, PASSWORD)
    page.goto("/portal/new/")
    keys = Keyboard(page)
    # The first Tab reaches the skip links; "Contenu" leads into the page's content.
    assert keys.tab_to(lambda focus: focus["tag"] == "a", limit=1)["text"] == "Contenu"
    page.keyboard.press("Enter")
    assert page.url.endswith("#content")

    # Sent without a title: the error summary takes the focus; its link leads to the field.
    keys.tab_to_id("id_summary")
    page.keyboard.type("Devenir des patients après un AVC, selon le parcours de soins.")
    keys.tab_to(lambda focus: focus["text"] == "Enregistrer le brouillon")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.title().startswith("Erreur : ")
    assert page.url.endswith("/portal/new/#content")  # sent from the skip link's target: the summary still gets the focus
    page.wait_for_function("() => document.activeElement.id === 'form-errors'", timeout=2_000)
    assert keys.tab_to(lambda focus: focus["tag"] == "a", limit=1)["text"].startswith("Titre du projet")
    page.keyboard.press("Enter")
    assert keys.focused()["id"] == "id_title"
    page.keyboard.type("Parcours de soins après un AVC")

    # The procedure with the arrow keys, two datasets with the filter and Space, the date typed.
    keys.tab_to(lambda focus: focus["id"].startswith("id_route_"))
    page.keyboard.press("ArrowDown")
    assert page.evaluate("() => document.activeElement.value") == "reference_methodology"
    page.keyboard.press("ArrowUp")
    assert page.locator("#id_route_0").is_checked()
    keys.tab_to_id("dataset-search")
    page.keyboard.type("snds")
    first = keys.tab_to(lambda focus: focus["id"].startswith("id_datasets_"))
    page.keyboard.press("Space")
    second = keys.tab_to(lambda focus: focus["id"].startswith("id_datasets_"))
    page.keyboard.press("Space")
    assert page.locator(f"#{first['id']}").is_checked() and page.locator(f"#{second['id']}").is_checked()
    keys.tab_to_id("id_team_members")
    page.keyboard.type("Ada Lovelace, investigatrice principale")
    keys.tab_to_id("id_expected_start")
    page.keyboard.type("01012030")
    keys.tab_to(lambda focus: focus["text"] == "Enregistrer le brouillon")
    with page.expect_navigation():
        page.keyboard.press("Enter")

    request = AccessRequest.objects.get()
    assert f"/portal/requests/{request.reference}/" in page.url
    assert request.title == "Parcours de soins après un AVC" and request.route == "standard"
    assert request.datasets.count() == 2 and request.expected_start.isoformat() == "2030-01-01"
    assert keys.unseen == [], f"focus not visible: {keys.unseen}"


def test_the_back_office_request_pages_main_action_works_with_the_keyboard_alone(page, live_server, make_request,
                                                                                secretariat):
    request = make_request(State.SUBMITTED)
    login(page, secretariat.email, PASSWORD)
    page.goto(detail(request.reference))
    keys = Keyboard(page)
    keys.tab_to(lambda focus: focus["tag"] == "summary" and focus["text"] == "Déclarer le dossier recevable")
    page.keyboard.press("Enter")  # unfolds the panel
    assert page.locator("#action-forward_to_cesrees").get_attribute("open") is not None
    keys.tab_to_id("forward_to_cesrees-comment")
    page.keyboard.type("Dossier complet.")
    keys.tab_to(lambda focus: focus["tag"] == "button" and focus["text"] == "Déclarer recevable et transmettre au CESREES")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.locator("#current-state").text_content() == "Avis du CESREES"
    assert AccessRequest.objects.get(pk=request.pk).state == State.CESREES_REVIEW
    assert keys.unseen == [], f"focus not visible: {keys.unseen}"
