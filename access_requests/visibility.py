"""Which requests a user may read, and from which side: the rule, once.

- the **applicant's side** (the portal): the requests of their organisation (the data
  controller), and any request they lead themselves;
- the **reviewers' side** (the back office): for users who may open it (``roles.can_open_backoffice``),
  every request but a draft (a draft is the applicant's team's alone; one withdrawn is no longer a
  draft), a data holder's staff with no other role (``roles.sees_every_request``) only those asking
  for their datasets;
- on the reviewers' side, a data holder's staff read only their own holder's tasks; the applicant's
  side reads every task of its requests.

The portal, the back office, the API and the webhooks all ask these querysets; ``sides_of`` answers
for one request (and one of its tasks) from the same querysets, in one query, so no second
derivation of the rule exists in Python. A user on both sides (an applicant who is also a
reviewer, a superuser in their own organisation) reads a request as a reviewer where the
reviewers' side has it. Reading is this rule; acting is ``roles.user_roles`` (a superuser may act
in every role, yet reads no one else's draft).
"""

from __future__ import annotations

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Exists, OuterRef, Q, QuerySet, Value

from access_requests.models import AccessRequest, HolderTask
from access_requests.roles import can_open_backoffice, holder_of, sees_every_request
from access_requests.workflow import State

APPLICANT, REVIEWER = "applicant", "reviewer"


def applicant_side(user) -> QuerySet[AccessRequest]:
    """The requests ``user`` reads in the portal: their organisation's, and their own."""
    if user is None or not user.is_authenticated or not user.is_active:
        return AccessRequest.objects.none()
    visible = Q(applicant_id=user.pk)
    organisation_id = _organisation_id(user)
    if organisation_id is not None:
        visible |= Q(organisation_id=organisation_id)
    return AccessRequest.objects.filter(visible)


def reviewer_side(user) -> QuerySet[AccessRequest]:
    """Every request ``user`` reads in the back office (never a draft)."""
    if not can_open_backoffice(user):
        return AccessRequest.objects.none()
    requests = AccessRequest.objects.exclude(state=State.DRAFT)
    if not sees_every_request(user):
        requests = requests.filter(concerns_holder(holder_of(user)))
    return requests


def readable(user) -> QuerySet[AccessRequest]:
    """Every request ``user`` reads, from either side."""
    return AccessRequest.objects.filter(
        Q(pk__in=applicant_side(user).values("pk")) | Q(pk__in=reviewer_side(user).values("pk")))


def reviewer_tasks(user) -> QuerySet[HolderTask]:
    """The holder tasks ``user`` reads on the reviewers' side: a data holder's staff (with no other
    role) their own holder's only."""
    tasks = HolderTask.objects.filter(request__in=reviewer_side(user))
    if not sees_every_request(user):
        tasks = tasks.filter(holder_id=holder_of(user))
    return tasks


def readable_tasks(user) -> QuerySet[HolderTask]:
    """Every holder task ``user`` reads: each task of the applicant's side, the reviewers' side's own."""
    return HolderTask.objects.filter(
        Q(request__in=applicant_side(user)) | Q(pk__in=reviewer_tasks(user).values("pk")))


def sides_of(user, request: AccessRequest, *, task: HolderTask | None = None) -> frozenset[str]:
    """The sides ``user`` reads ``request`` from (``APPLICANT``, ``REVIEWER``, both or none) as the
    database holds it now; with ``task`` (one of its holder tasks), the reviewers' side counts only
    where it reads that task. One query (plus the permission lookups of ``roles``, cached on the
    user object)."""
    applicant = applicant_side(user).filter(pk=OuterRef("pk"))
    reviewer = (reviewer_tasks(user).filter(pk=task.pk, request_id=OuterRef("pk")) if task is not None
                else reviewer_side(user).filter(pk=OuterRef("pk")))
    found = (AccessRequest.objects.filter(pk=request.pk)
             .annotate(on_applicant_side=Exists(applicant), on_reviewer_side=Exists(reviewer))
             .values_list("on_applicant_side", "on_reviewer_side").first())
    if found is None:
        return frozenset()
    return frozenset(side for side, reads in zip((APPLICANT, REVIEWER), found, strict=True) if reads)


def side_of(user, request: AccessRequest) -> str | None:
    """How ``user`` reads ``request``: ``REVIEWER`` where the back office shows it to them,
    else ``APPLICANT`` where the portal does, else None."""
    sides = sides_of(user, request)
    if REVIEWER in sides:
        return REVIEWER
    return APPLICANT if APPLICANT in sides else None


def concerns_holder(holder: int | None) -> Exists | Value:
    """The request asks for a dataset of ``holder`` (never, for None)."""
    if holder is None:
        return Value(False)
    return Exists(AccessRequest.datasets.through.objects.filter(accessrequest_id=OuterRef("pk"),
                                                                  dataset__holder_id=holder))


def _organisation_id(user) -> int | None:
    try:
        return user.profile.organisation_id
    except (AttributeError, ObjectDoesNotExist):
        return None
