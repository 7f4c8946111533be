"""A form sent back with errors says so (RGAA 11.10, 11.11; issue 14): it starts with an error summary
whose items link to their fields, the page title starts with "Erreur :", every field in error
carries aria-invalid and an aria-describedby naming a message that exists, and no
aria-describedby of any page points to nothing.

The browser side (the summary takes focus, axe finds nothing) is tests/e2e/test_accessibility.py.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from django import forms
from django.urls import reverse

from access_requests.workflow import Role, State
from hdh_access.templatetags.form_errors import summary_items
from tests.conftest import make_user, with_form_token

pytestmark = pytest.mark.django_db

REFERENCE_ATTRIBUTES = ("aria-describedby", "aria-labelledby", "aria-controls")


class Page(HTMLParser):
    """The ids of a page, the elements naming others by id, the title, the summary's links."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.references: list[tuple[str, str, str]] = []  # (element id or tag, attribute, id named)
        self.invalid: list[dict] = []
        self.title = ""
        self.summary_links: list[str] = []
        self._in_title = self._in_summary = False
        self._summary_depth = 0
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if "id" in attributes:
            self.ids.add(attributes["id"])
        for name in REFERENCE_ATTRIBUTES:
            for named in (attributes.get(name) or "").split():
                self.references.append((attributes.get("id") or tag, name, named))
        if attributes.get("aria-invalid") == "true":
            self.invalid.append(attributes)
        if tag == "title":
            self._in_title = True
        if "data-hdh-error-summary" in attributes:
            self._in_summary = True
        if self._in_summary:
            self._summary_depth += tag not in ("br", "input", "img")
            if tag == "a":
                self.summary_links.append(attributes["href"])

    def handle_endtag(self, tag):
        if tag == "title":
            self._in_title = False
        if self._in_summary:
            self._summary_depth -= 1
            self._in_summary = self._summary_depth > 0

    def handle_data(self, data):
        if self._in_title:
            self.title += data

    def broken_references(self) -> list[tuple[str, str, str]]:
        return [reference for reference in self.references if reference[2] not in self.ids]


def page_of(response) -> Page:
    return Page(response.content.decode())


def assert_errors_are_announced(response, *, fields: list[str]) -> tuple[Page, set]:
    """The page answering a form with errors: title, summary linking to ``fields``, marked fields."""
    page = page_of(response)
    assert page.title.strip().startswith(("Erreur :", "Error:")), page.title
    assert page.summary_links, "no error summary"
    assert [link.lstrip("#") for link in page.summary_links] == fields
    for target in fields:
        assert target in page.ids, target
    invalid = {attributes.get("id") for attributes in page.invalid}
    for attributes in page.invalid:
        if attributes.get("type") == "radio" and not attributes.get("aria-describedby"):
            continue  # a radio group's fieldset is labelled by its error (checked by broken_references)
        described = (attributes.get("aria-describedby") or "").split()
        assert described and all(named in page.ids for named in described), attributes
    assert page.broken_references() == []
    return page, invalid


# --- sign-in ------------------------------------------------------------------------------------
def test_signing_in_with_empty_fields_marks_both_fields_as_required(client):
    response = client.post(reverse("login"), {"username": "", "password": ""})
    page, invalid = assert_errors_are_announced(response, fields=["id_username", "id_password"])
    assert invalid == {"id_username", "id_password"}
    html = response.content.decode()
    assert html.count("Ce champ est obligatoire.") == 4  # in the summary and under each field
    assert '<p class="fr-error-text" id="id_username-error">Ce champ est obligatoire.</p>' in html


def test_a_wrong_password_marks_both_fields_with_the_one_message(client, applicant):
    response = client.post(reverse("login"), {"username": applicant.email, "password": "not-the-password"})
    page, invalid = assert_errors_are_announced(response, fields=["id_username"])
    assert invalid == {"id_username", "id_password"}
    message = "Adresse électronique ou mot de passe incorrect. Vérifiez les deux, puis réessayez."
    assert f'<p class="fr-error-text fr-mb-3w" id="login-error">{message}</p>' in response.content.decode()
    assert {(ref[0], ref[2]) for ref in page.references if ref[1] == "aria-describedby"} >= {
        ("id_username", "login-error"), ("id_password", "login-error")}


def test_the_sign_in_errors_read_in_english(client, applicant, language_restored):
    response = client.post(reverse("login"), {"username": "", "password": ""}, HTTP_ACCEPT_LANGUAGE="en")
    html = response.content.decode()
    assert page_of(response).title.startswith("Error: ")
    assert "The form contains errors" in html and "Correct the following 2 errors:" in html
    response = client.post(reverse("login"), {"username": applicant.email, "password": "nope"},
                           HTTP_ACCEPT_LANGUAGE="en")
    assert "Incorrect email address or password. Check both, then try again." in response.content.decode()


def test_the_sign_in_page_alone_has_no_error_title_or_summary(client):
    page = page_of(client.get(reverse("login")))
    assert page.title.startswith("Connexion")
    assert page.summary_links == [] and page.invalid == []


# --- account pages ------------------------------------------------------------------------------
def test_an_empty_sign_up_starts_with_a_summary_of_every_missing_field(client):
    response = client.post(reverse("accounts:signup"), dict.fromkeys(["email", "first_name", "last_name", "organisation"], ""))
    assert response.status_code == 400
    page, invalid = assert_errors_are_announced(response, fields=[
        "id_email", "id_first_name", "id_last_name", "id_organisation", "id_password1", "id_password2"])
    assert invalid == {"id_email", "id_first_name", "id_last_name", "id_organisation", "id_password1",
                       "id_password2"}


def test_the_password_pages_and_the_profile_announce_their_errors(client, applicant):
    response = client.post(reverse("accounts:password_reset"), {"email": "not an address"})
    assert_errors_are_announced(response, fields=["id_email"])
    client.force_login(applicant)
    response = client.post(reverse("accounts:password_change"), {"old_password": "wrong"})
    assert_errors_are_announced(response, fields=["id_old_password", "id_new_password1", "id_new_password2"])
    response = client.post(reverse("accounts:profile"), {"language": "klingon"})
    assert_errors_are_announced(response, fields=["id_language_0"])


# --- portal -------------------------------------------------------------------------------------
def test_a_new_request_without_a_title_keeps_the_summary_and_links_the_datasets_to_their_first_box(client, applicant):
    client.force_login(applicant)
    response = client.post(reverse("portal:create"), with_form_token(client, {
        "title": "", "route": "nowhere", "datasets": ["999999"], "summary": "Résumé gardé"}))
    page, invalid = assert_errors_are_announced(response, fields=["id_title", "id_route_0", "id_datasets_0"])
    assert "id_title" in invalid
    assert ("id_datasets", "aria-labelledby", "datasets-error") in page.references


def test_the_portal_request_page_announces_an_upload_an_answer_and_a_withdrawal_refused(client, make_request,
                                                                                        applicant):
    draft = make_request(State.DRAFT)
    client.force_login(applicant)
    response = client.post(reverse("portal:upload", args=[draft.reference]), with_form_token(client, {"kind": "?"}))
    assert_errors_are_announced(response, fields=["id_kind", "id_file"])
    waiting = make_request(State.AWAITING_APPLICANT)
    response = client.post(reverse("portal:answer", args=[waiting.reference]),
                           with_form_token(client, {"expected_state": State.AWAITING_APPLICANT, "answer": " "}))
    assert_errors_are_announced(response, fields=["id_answer"])
    response = client.post(reverse("portal:withdraw", args=[waiting.reference]),
                           with_form_token(client, {"expected_state": State.AWAITING_APPLICANT,
                                                    "reason": "x" * 2001}))
    assert_errors_are_announced(response, fields=["id_reason"])


# --- back office --------------------------------------------------------------------------------
def test_a_back_office_action_with_errors_has_its_summary_in_its_open_panel(client, make_request, secretariat):
    request = make_request(State.SUBMITTED)
    client.force_login(secretariat)
    response = client.post(reverse("backoffice:act", args=[request.reference, "request_information"]),
                           with_form_token(client, {"expected_state": State.SUBMITTED, "question": " "}))
    assert response.status_code == 400
    page, invalid = assert_errors_are_announced(response, fields=["request_information-reason_0",
                                                                    "request_information-question"])
    assert "request_information-question" in invalid
    html = response.content.decode()
    panel = html[html.index('id="action-request_information"'):]
    assert panel.index('data-hdh-error-summary') < panel.index("</form>")
    assert 'id="action-error"' not in html  # the summary says it; no second alert


def test_an_empty_note_and_an_impossible_assignee_are_announced(client, make_request, secretariat, applicant):
    request = make_request(State.SUBMITTED)
    client.force_login(secretariat)
    response = client.post(reverse("backoffice:post_message", args=[request.reference]),
                           with_form_token(client, {"body": "", "internal": "on"}))
    assert "Écrivez le message avant de l&#x27;envoyer." in response.content.decode()
    assert_errors_are_announced(response, fields=["message-body"])
    response = client.post(reverse("backoffice:assign", args=[request.reference]),
                           with_form_token(client, {"assignee": applicant.pk}))
    assert "Cette personne ne peut pas instruire cette demande." in response.content.decode()
    assert_errors_are_announced(response, fields=["assign-assignee"])


def test_merging_an_organisation_into_itself_is_announced(client, secretariat, organisation):
    client.force_login(secretariat)
    response = client.post(reverse("backoffice:merge_organisations"),
                           {"source": organisation.pk, "target": organisation.pk})
    assert_errors_are_announced(response, fields=["merge-target"])


# --- descriptions that point to nothing (the id_q_helptext and note-body_helptext) ---------
def test_no_page_names_a_description_that_does_not_exist(client, make_request, personas):
    request = make_request(State.CESREES_REVIEW)
    pages = {
        None: ["/", reverse("login"), reverse("accounts:signup"), reverse("accounts:password_reset")],
        "applicant": [reverse("portal:list"), reverse("portal:create"), reverse("accounts:profile"),
                      reverse("portal:detail", args=[request.reference]), reverse("accounts:password_change")],
        "secretariat": [reverse("backoffice:queue"), reverse("backoffice:detail", args=[request.reference]),
                        reverse("backoffice:organisations"), reverse("backoffice:delays")],
        "cesrees": [reverse("backoffice:detail", args=[request.reference])],
    }
    for who, paths in pages.items():
        client.logout()
        if who:
            client.force_login(personas[who])
        for path in paths:
            response = client.get(path)
            assert response.status_code == 200, path
            page = page_of(response)
            assert page.broken_references() == [], (who, path)
            assert not page.title.startswith("Erreur"), path


def test_the_queue_search_and_the_message_field_are_described_by_their_hints(client, make_request, secretariat):
    request = make_request(State.SUBMITTED)
    client.force_login(secretariat)
    queue = page_of(client.get(reverse("backoffice:queue")))
    assert ("id_q", "aria-describedby", "id_q_helptext") in queue.references and "id_q_helptext" in queue.ids
    detail = page_of(client.get(reverse("backoffice:detail", args=[request.reference])))
    assert ("message-body", "aria-describedby", "message-body_helptext") in detail.references
    assert "message-body_helptext" in detail.ids


def test_a_bad_filter_date_is_a_warning_not_a_form_error_title(client, management):
    client.force_login(management)
    response = client.get(reverse("backoffice:queue"), {"submitted_from": "31/02/2024"})
    page = page_of(response)
    assert not page.title.startswith("Erreur")
    assert page.summary_links == []
    field = next(a for a in page.invalid if a.get("id") == "id_submitted_from")
    assert field["aria-describedby"] == "id_submitted_from-error"


# --- the summary's items ------------------------------------------------------------------------
class _Sample(forms.Form):
    state = forms.CharField(widget=forms.HiddenInput)
    name = forms.CharField(label="Nom")
    colour = forms.ChoiceField(label="Couleur", choices=[("r", "Rouge")], widget=forms.RadioSelect)
    sizes = forms.MultipleChoiceField(label="Tailles", choices=[("s", "S")], widget=forms.CheckboxSelectMultiple)

    def clean(self):
        raise forms.ValidationError("Ensemble incohérent.")


def test_summary_items_link_general_and_hidden_errors_to_the_first_field_and_groups_to_their_first_input():
    form = _Sample(data={"colour": "x", "sizes": ["x"]})
    items = [(item.target, item.label, item.message) for item in summary_items(form)]
    assert items[0] == ("id_name", "", "Ensemble incohérent.")
    assert items[1] == ("id_name", "", "Ce champ est obligatoire.")  # the hidden field's error
    assert items[2] == ("id_name", "Nom", "Ce champ est obligatoire.")
    assert items[3][:2] == ("id_colour_0", "Couleur")
    assert items[4][:2] == ("id_sizes_0", "Tailles")
    assert summary_items(_Sample()) == []  # an unbound form has nothing to say


def test_a_reviewer_page_title_counts_a_list_of_action_forms(client, make_request):
    """The title prefix finds a form with errors in a list (the back office's action forms)."""
    request = make_request(State.SUBMITTED)
    reviewer = make_user("second@hdh.example", role=Role.SECRETARIAT)
    client.force_login(reviewer)
    response = client.post(reverse("backoffice:act", args=[request.reference, "reject"]),
                           with_form_token(client, {"expected_state": State.SUBMITTED, "reason": ""}))
    assert re.search(r"<title>Erreur : ", response.content.decode())
