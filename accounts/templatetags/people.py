"""``{{ user|person }}``: "Prénom Nom (Organisation)"; ``{{ user|person_name }}``: the name alone
(accounts.people). Neither shows an email address unless the account has no name."""

from __future__ import annotations

from typing import Any

from django import template

from accounts.people import display_name
from accounts.people import person_name as name_of

register = template.Library()


@register.filter
def person(user: Any) -> str:
    return display_name(user)


@register.filter
def person_name(user: Any) -> str:
    return name_of(user)
