"""The public pages (no sign-in): the directory of projects and the roadmap's indicators."""

from django.urls import path

from directory import indicator_views

app_name = "directory"

urlpatterns: list = [
    path("indicateurs/", indicator_views.indicators, name="indicators"),
    path("en/indicators/", indicator_views.indicators, {"language": "en"}, name="indicators_en"),
]
