"""The queue's rows draw dates, links and titles as Django's filters and ``reverse`` do, each read
once per page (backoffice/queue_rows.py)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import dateformat, translation
from django.utils.formats import get_format
from django.utils.text import Truncator
from hypothesis import given, settings
from hypothesis import strategies as st

from access_requests.references import REFERENCE_PATTERN
from backoffice.queue_rows import date_formatter, detail_urls, short_title

FORMATS = ["d/m/Y", "j M Y", "j n y", "Y-m-d", "N j, Y", r"j \d\e M", "D d M Y", "d.m.Y à"]


@settings(max_examples=300, deadline=None)
@given(value=st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31)),
       fmt=st.sampled_from(FORMATS), language=st.sampled_from(["fr", "en"]))
def test_a_date_is_drawn_as_djangos_date_filter_draws_it(value, fmt, language):
    with translation.override(language):
        assert date_formatter(fmt)(value) == dateformat.format(value, fmt)


@pytest.mark.parametrize("language", ["fr", "en"])
def test_the_short_date_format_of_each_language_is_drawn_without_django(language, monkeypatch):
    """The project's short formats (d/m/Y, j M Y) take the fast path, not Django's formatter."""
    with translation.override(language):
        fmt = get_format("SHORT_DATE_FORMAT")
        expected = dateformat.format(dt.date(2026, 3, 4), fmt)
        monkeypatch.setattr(dateformat, "format", lambda *args: pytest.fail("Django's formatter was used"))
        assert date_formatter(fmt)(dt.date(2026, 3, 4)) == expected


@settings(max_examples=200, deadline=None)
@given(reference=st.from_regex(rf"\A{REFERENCE_PATTERN}\Z", fullmatch=True),
       language=st.sampled_from(["fr", "en"]))
def test_a_requests_link_is_the_one_reverse_gives(reference, language):
    with translation.override(language):
        assert detail_urls()(reference) == reverse("backoffice:detail", args=[reference])


@pytest.mark.parametrize("title", ["", "Court", "e\u0301" * 10, "é" * 90, "é" * 91, "e\u0301" * 90, "e\u0301" * 91, "x" * 200,
                                   "Cohorte " * 12, "A" * 89 + "\u0301\u0301"])
def test_a_title_is_cut_as_truncator_cuts_it(title):
    assert short_title(title) == Truncator(title).chars(90)
