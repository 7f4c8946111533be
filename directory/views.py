"""The public directory of projects: the list and its search, a project's page, the Atom feed, the
CSV and JSON exports. No sign-in. Every output reads ``selectors.public_projects`` /
``public_record`` and nothing else, so nothing private can reach one of them.

The site chooses its language by cookie; the directory has stable addresses per language
instead (/projets/ in French, /en/projects/ in English, each naming the other as its
``hreflang`` alternate): the English routes render the same views with English active.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from typing import Any

from django.contrib.syndication.views import Feed
from django.core.paginator import Paginator
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.utils.feedgenerator import Atom1Feed
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from directory import exports
from directory.forms import DirectoryForm
from directory.selectors import public_project, public_projects, public_records
from hdh_access.lib import tabular

PAGE_SIZE = 20
FEED_SIZE = 50


def in_language(code: str):
    """The view rendered in ``code`` whatever the language cookie says: the address says the
    language (/projets/ French, /en/projects/ English)."""

    def decorator(view):
        @functools.wraps(view)
        def wrapped(request, *args, **kwargs):
            with translation.override(code):
                request.LANGUAGE_CODE = code
                response = view(request, *args, **kwargs)
            response.headers.setdefault("Content-Language", code)
            return response

        return wrapped

    return decorator


def language_alternates(fr_name: str, en_name: str, *args: Any, query: str = "") -> dict[str, str]:
    suffix = f"?{query}" if query else ""
    return {"fr": reverse(fr_name, args=args) + suffix, "en": reverse(en_name, args=args) + suffix}


def _kept_query(request, *, without: tuple[str, ...] = ("page",)) -> str:
    kept = request.GET.copy()
    for name in without:
        kept.pop(name, None)
    return kept.urlencode()


@require_GET
def project_list(request):
    form = DirectoryForm(request.GET or None)
    criteria = form.criteria()
    page = Paginator(public_projects(criteria), PAGE_SIZE).get_page(request.GET.get("page"))
    query = _kept_query(request)
    alternates = language_alternates("directory:list", "directory:list_en", query=_kept_query(request, without=()))
    english = translation.get_language() == "en"
    return render(request, "directory/list.html", {
        "form": form,
        "page": page,
        "projects": public_records(page.object_list),
        "query": query,
        "searched": bool(request.GET),
        "export_query": _kept_query(request, without=("page", "sort")),
        "alternates": alternates,
        "alternate_url": alternates["fr" if english else "en"],
    })


@require_GET
def project_detail(request, reference: str):
    project = public_project(reference)
    if project is None:
        raise Http404(_("Aucun projet public ne porte cette référence."))
    alternates = language_alternates("directory:project", "directory:project_en", reference)
    english = translation.get_language() == "en"
    return render(request, "directory/project.html", {
        "project": project, "alternates": alternates, "alternate_url": alternates["fr" if english else "en"],
    })


@require_GET
def projects_csv(request):
    criteria = DirectoryForm(request.GET or None).criteria()
    rows = (exports.csv_row(record) for record in exports.records(public_projects(criteria)))
    return tabular.download(rows, list(exports.COLUMNS), format=tabular.CSV, filename="projets")


@require_GET
def projects_json(request):
    criteria = DirectoryForm(request.GET or None).criteria()

    def body() -> Iterator[str]:
        yield "["
        for index, record in enumerate(exports.records(public_projects(criteria))):
            yield ("," if index else "") + "\n" + json.dumps(exports.json_row(record), ensure_ascii=False)
        yield "\n]\n"

    response = StreamingHttpResponse(body(), content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="projets.json"'
    return response


class ProjectFeed(Feed):
    """The newest public projects (by their decision), as an Atom feed."""

    feed_type = Atom1Feed
    title = gettext_lazy("Répertoire public des projets — nouveaux projets")
    subtitle = gettext_lazy("Les projets autorisés à accéder aux données de santé, les plus récents d'abord.")

    def link(self) -> str:
        return reverse("directory:list")

    def items(self) -> list[dict[str, Any]]:
        return public_records(public_projects()[:FEED_SIZE])

    def item_title(self, item: dict[str, Any]) -> str:
        return f"{item['reference']} — {item['title']}"

    def item_description(self, item: dict[str, Any]) -> str:
        parts = [item["data_controller"], item["public_summary"],
                 ", ".join(d["name"] for d in item["datasets"])]
        return "\n\n".join(p for p in parts if p)

    def item_link(self, item: dict[str, Any]) -> str:
        return reverse("directory:project", args=[item["reference"]])

    def item_pubdate(self, item: dict[str, Any]):
        return item["decided_at"]

    def item_updateddate(self, item: dict[str, Any]):
        return item["decided_at"]


project_feed = in_language("fr")(ProjectFeed())
