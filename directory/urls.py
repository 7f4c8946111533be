"""The public pages (no sign-in): the directory of projects and the roadmap's indicators."""

from django.urls import path  # noqa: F401

app_name = "directory"

urlpatterns: list = []
