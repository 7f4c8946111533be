"""``{% form_token %}``: the hidden one-time token of a form that writes (access_requests.form_tokens).

A template builtin (settings.TEMPLATES), so a form needs only the tag, beside ``{% csrf_token %}``.
Each use issues a new token: every form of a page has its own.
"""

from __future__ import annotations

from django import template
from django.utils.html import format_html

from access_requests.form_tokens import FIELD_NAME, issue_token

register = template.Library()


@register.simple_tag(takes_context=True)
def form_token(context) -> str:
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return ""
    return format_html('<input type="hidden" name="{}" value="{}">', FIELD_NAME, issue_token(user))
