"""Account reads: an organisation's members, the requests to join that wait, the organisations list."""

from __future__ import annotations

import datetime as dt
import hmac
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from access_requests.models import AccessRequest
from accounts.models import ApiToken, MembershipRequest, MembershipStatus, Organisation


def members_of(organisation: Organisation):
    """The signed-up users of ``organisation``, confirmed ones only, by name."""
    User = get_user_model()
    return User.objects.filter(profile__organisation=organisation, is_active=True).order_by(
        "last_name", "first_name", "email")


def pending_requests_to_join(organisation: Organisation | None = None) -> QuerySet[MembershipRequest]:
    """Requests to join that wait for a decision (of ``organisation``, or all), oldest first.

    Only those of confirmed addresses: an unconfirmed sign-up is not a request yet (anyone can
    type any address), and the purge deletes it after HDH_UNCONFIRMED_ACCOUNT_DAYS.
    """
    queryset = MembershipRequest.objects.filter(status=MembershipStatus.PENDING, user__is_active=True)
    if organisation is not None:
        queryset = queryset.filter(organisation=organisation)
    return queryset.select_related("user", "organisation").order_by("requested_at", "pk")


def last_refusal(user) -> MembershipRequest | None:
    """The user's last refused request to join, to say so on their organisation page."""
    return (MembershipRequest.objects.filter(user_id=user.pk, status=MembershipStatus.REFUSED)
            .select_related("organisation").order_by("-decided_at", "-pk").first())


def organisations_overview() -> QuerySet[Organisation]:
    """Every organisation with its confirmed members, access requests and pending requests to
    join counted (one query per page: the counts are subqueries)."""
    User = get_user_model()

    def count_of(queryset):
        return Coalesce(Subquery(queryset.order_by().values("n")[:1], output_field=IntegerField()), 0)

    members = (User.objects.filter(profile__organisation=OuterRef("pk"), is_active=True)
               .values("profile__organisation").annotate(n=Count("pk")))
    requests = (AccessRequest.objects.filter(organisation=OuterRef("pk"))
                .values("organisation").annotate(n=Count("pk")))
    pending = (MembershipRequest.objects.filter(organisation=OuterRef("pk"), status=MembershipStatus.PENDING,
                                                user__is_active=True)
               .values("organisation").annotate(n=Count("pk")))
    return Organisation.objects.annotate(
        member_count=count_of(members), request_count=count_of(requests), pending_count=count_of(pending),
    ).order_by("name", "pk")



# --- API tokens ----------------------------------------------------------------------------------
API_TOKEN_TOUCH_SECONDS = 60  # last_used_at is written at most once a minute per token


def api_tokens_of(user) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user_id=user.pk).order_by("-created_at", "-id")


def api_token_user(raw: str, *, now: dt.datetime | None = None) -> tuple[Any, ApiToken] | None:
    """The active user and usable token that ``raw`` (``hdh_<prefix>_<secret>``) names, or None."""
    parts = (raw or "").split("_", 2)
    if len(parts) != 3 or parts[0] != "hdh" or len(raw) > 200:
        return None
    token = ApiToken.objects.select_related("user").filter(prefix=parts[1]).first()
    now = now or timezone.now()
    if (token is None or not hmac.compare_digest(token.digest, ApiToken.hash_secret(parts[2]))
            or not token.is_usable(now) or not token.user.is_active):
        return None
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > API_TOKEN_TOUCH_SECONDS:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user, token
