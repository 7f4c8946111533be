"""``{{ days|duration }}``: a duration in days as a person says it (delays.durations)."""

from __future__ import annotations

from django import template

from delays.durations import humanise_days

register = template.Library()


@register.filter
def duration(days: float | None) -> str:
    """"moins d'un jour", "3 jours", "5 semaines", "1 an et 2 mois"; "" for None."""
    return humanise_days(days)
