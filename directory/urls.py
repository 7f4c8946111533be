"""The public pages (no sign-in): the directory of projects and the roadmap's indicators."""

from django.urls import path

from directory import indicator_views, views
from directory.views import in_language

app_name = "directory"

french = in_language("fr")
english = in_language("en")

urlpatterns: list = [
    # The directory of projects (issue 18): French addresses, their English twins under /en/.
    path("projets/", french(views.project_list), name="list"),
    path("projets/flux.atom", views.project_feed, name="feed"),
    path("projets/<reference:reference>/", french(views.project_detail), name="project"),
    path("projets.csv", views.projects_csv, name="csv"),
    path("projets.json", views.projects_json, name="json"),
    path("en/projects/", english(views.project_list), name="list_en"),
    path("en/projects/<reference:reference>/", english(views.project_detail), name="project_en"),
    # The roadmap's indicators (issue 18).
    path("indicateurs/", french(indicator_views.indicators), name="indicators"),
    path("en/indicators/", english(indicator_views.indicators), name="indicators_en"),
]
