"""What makes a request public, and when its team may change what is published.

The directory (directory/, /projets/) lists every request that has reached the decision: the
CNIL's authorisation on the standard route, or the secretariat's approval without review on the
reference-methodology and simplified routes. Both transitions (``authorise`` and
``approve_without_review`` in workflow.py) and only they lead into ``contracting``, so a request
is public once its event log holds an arrival in that state, whatever happened next (a request
withdrawn after its authorisation stays listed, as the authorisation was given; one rejected or
withdrawn before it never is). The history import writes the same edges, so imported requests
follow the same rule.

Its public dates are the first arrivals in ``submitted``, ``contracting`` and ``delivered``
(the index ``event_public_dates_idx`` holds exactly these rows).

The team edits the public summary until the decision (after it the published text is what the
decision was given on) and adds the results link once the request is public.
"""

from __future__ import annotations

from django.contrib.postgres.search import SearchVector
from django.db.models import Exists, OuterRef, Subquery

from access_requests.models import Event
from access_requests.workflow import TERMINAL_STATES, State

DECISION_STATE = State.CONTRACTING
SUBMISSION_STATE = State.SUBMITTED
DELIVERY_STATE = State.DELIVERED
PUBLIC_SUMMARY_MAX_LENGTH = 3000
RESULTS_URL_MAX_LENGTH = 500


def _arrivals(state: str):
    return Event.objects.filter(request=OuterRef("pk"), to_state=state)


def first_arrival(state: str) -> Subquery:
    """The instant of the request's (the outer query's row) first arrival in ``state``, or NULL."""
    return Subquery(_arrivals(state).order_by("at").values("at")[:1])


def decided() -> Exists:
    """The outer request has reached the decision: it is public."""
    return Exists(_arrivals(DECISION_STATE))


def is_public(request_id: int) -> bool:
    return Event.objects.filter(request_id=request_id, to_state=DECISION_STATE).exists()


def summary_editable(*, state: str, public: bool) -> bool:
    """The public summary may change: the request is not decided yet, and not ended before."""
    return not public and state not in TERMINAL_STATES


def results_editable(*, public: bool) -> bool:
    """The results link may be added or changed: the request is public."""
    return public


SEARCH_CONFIG = "french"


def search_vector():
    """The French text search vector of a request's public text (PostgreSQL), exactly the expression
    of the GIN index ``access_request_public_search_idx`` (migration 0017), so the index serves it."""
    return SearchVector("title", "public_summary", config=SEARCH_CONFIG)
