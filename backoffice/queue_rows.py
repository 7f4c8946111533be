"""The queue's table rows, drawn in Python: the one place their markup lives.

A queue page shows up to 50 rows of seven cells, each with links, dates, badges and a name. Drawn
by the template engine (a variable lookup, a filter or a tag per value) the rows were about half
of the page's CPU (15 ms of 34); drawn here with f-strings and ``esc`` (what ``conditional_escape`` does) from the same values, about a
tenth of that. The template places ``row.html`` in the table it still draws (head, caption,
pagination). Values are escaped as the template escaped them; dates are the local day in the
language's short format (the ``date`` filter's ``SHORT_DATE_FORMAT``).
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Callable
from typing import Any

from django.urls import reverse
from django.utils import dateformat, timezone
from django.utils.dates import MONTHS_3
from django.utils.formats import get_format
from django.utils.safestring import mark_safe
from django.utils.text import Truncator
from django.utils.translation import gettext

from accounts.people import display_name
from delays.durations import humanise_days
from hdh_access.lib.escape import esc

# Django's date format characters of a day, a month and a year, as its DateFormat draws them.
_DATE_PARTS: dict[str, Callable[[dt.date], str]] = {
    "d": lambda value: f"{value.day:02d}", "j": lambda value: str(value.day),
    "m": lambda value: f"{value.month:02d}", "n": lambda value: str(value.month),
    "Y": lambda value: f"{value.year:04d}", "y": lambda value: f"{value.year % 100:02d}",
}


def date_formatter(fmt: str) -> Callable[[dt.date], str]:
    """``dateformat.format(value, fmt)``, the format read once (a page draws up to 150 dates):
    a format of the day, the month (``M``: its abbreviation in the active language) and the year,
    with separators, is drawn here; any other (a backslash, another letter) by Django."""
    months = ["", *(str(MONTHS_3[month]).title() for month in range(1, 13))] if "M" in fmt else []
    parts: list[Callable[[dt.date], str] | str] = []
    for char in fmt:
        if char in _DATE_PARTS:
            parts.append(_DATE_PARTS[char])
        elif char == "M":
            parts.append(lambda value: months[value.month])
        elif char.isalpha() or char == "\\":
            return lambda value: dateformat.format(value, fmt)
        else:
            parts.append(char)
    return lambda value: "".join(part if isinstance(part, str) else part(value) for part in parts)


def short_date(value: dt.date | dt.datetime | None, fmt: Callable[[dt.date], str]) -> str:
    """The ``date:"SHORT_DATE_FORMAT"`` filter (``fmt``: ``date_formatter`` of that format, made once
    per page): an aware datetime on its local day."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime) and timezone.is_aware(value):
        value = timezone.localtime(value)
    return fmt(value)


def _short_dates() -> Callable[[dt.date], str]:
    return date_formatter(get_format("SHORT_DATE_FORMAT"))


def detail_urls() -> Callable[[str], str]:
    """``reverse("backoffice:detail", args=[reference])``, reversed once per page: a reference is
    made of URL-safe characters only (access_requests.references), so each request's URL is the
    pattern's with its reference in place."""
    head, _sep, tail = reverse("backoffice:detail", args=["0"]).rpartition("/0/")
    return lambda reference: f"{head}/{reference}/{tail}"


def short_title(title: str) -> str:
    """``Truncator(title).chars(90)``: a title of 90 characters or fewer is only normalised (NFC)."""
    text = unicodedata.normalize("NFC", title)
    return text if len(text) <= 90 else Truncator(title).chars(90)


def _request_cell(request: Any, url: Callable[[str], str], anchor: str = "") -> str:
    """Reference (a link to its page), title cut at 90 characters, organisation."""
    organisation = (f'<br><span class="fr-text--xs">{esc(request.organisation.name)}</span>'
                    if request.organisation else "")
    return (f'<td><a class="fr-link" href="{esc(url(request.reference))}{anchor}">'
            f"<strong>{esc(request.reference)}</strong></a><br>{esc(short_title(request.title))}"
            f"{organisation}</td>")


def _badge(css: str, label: Any) -> str:
    return f'<p class="fr-badge fr-badge--sm {esc(css)}">{esc(label)}</p>'


def _dated(value, badge: str, fmt: Callable[[dt.date], str]) -> str:
    """A date then a line break, when there is a date, then the badge."""
    return (f"{esc(short_date(value, fmt))}<br>" if value else "") + badge


def _assignee_cell(assignee, nobody: str) -> str:
    if assignee:
        return f"<td>{esc(display_name(assignee))}</td>"
    return f'<td><span class="fr-text--sm">{esc(nobody)}</span></td>'


def _datasets(names) -> str:
    return ", ".join(esc(name) for name in names)


def request_rows_html(rows: list[dict]) -> None:
    """Set ``row["html"]`` on each row of the requests' queue (backoffice.selectors.queue_page_rows,
    with the labels and classes the view adds)."""
    nobody, since, fmt, url = gettext("Personne"), gettext("depuis le"), _short_dates(), detail_urls()
    for row in rows:
        request = row["request"]
        route = (f'<br><span class="fr-text--xs">{esc(row["route_label"])}</span>'
                 if request.route != "standard" else "")
        if row["days_in_stage"] is not None:
            in_stage = (f'{esc(humanise_days(row["days_in_stage"]))}<br><span class="fr-text--xs">{esc(since)} '
                        f"{esc(short_date(request.stage_since, fmt))}</span>")
        else:
            in_stage = "—"
        status = _badge(row["status_class"], row["status_label"]) if row["status_label"] else ""
        row["html"] = mark_safe(
            f"\n      <tr>\n        {_request_cell(request, url)}\n        <td>{esc(row['state_label'])}{route}</td>"
            f"\n        <td>{_datasets(row['datasets'])}</td>\n        <td>{in_stage}</td>"
            f"\n        <td>{_dated(request.due_date, _badge(row['badge_class'], row['badge_label']), fmt)}</td>"
            f"\n        <td>{_dated(request.target_deadline, status, fmt)}</td>"
            f"\n        {_assignee_cell(request.assignee, nobody)}\n      </tr>\n    ")


def task_rows_html(rows: list[dict]) -> None:
    """Set ``row["html"]`` on each row of a data holder's task queue (selectors.task_queue_rows)."""
    nobody, fmt, url = gettext("Personne"), _short_dates(), detail_urls()
    for row in rows:
        task = row["task"]
        # As {% blocktranslate %} does: the values escaped, the translation as it is.
        since = gettext("depuis le %(since)s (%(duration)s)") % {
            "since": esc(short_date(task.entered_at, fmt)), "duration": esc(humanise_days(row["days_in_stage"]))}
        row["html"] = mark_safe(
            f"\n      <tr>\n        {_request_cell(row['request'], url, '#taches')}"
            f'\n        <td>{esc(row["task_state_label"])}<br><span class="fr-text--xs">{since}</span></td>'
            f"\n        <td>{_datasets(row['datasets'])}</td>"
            f"\n        <td>{_dated(task.due_date, _badge(row['badge_class'], row['badge_label']), fmt)}</td>"
            f"\n        {_assignee_cell(task.assignee, nobody)}\n      </tr>\n    ")
