"""hdh_access.lib.labels.translated: labels made text once, in the active language."""

from __future__ import annotations

from django.utils import translation

from access_requests.workflow import State
from delays.labels import STATUS_LABELS
from hdh_access.lib.labels import translated


def test_choices_and_mappings_are_made_text_in_the_active_language():
    for language in ("fr", "en"):
        with translation.override(language):
            states = translated(State.choices)
            assert states == {state.value: str(State(state).label) for state in State}
            assert all(type(label) is str for label in states.values())
            assert translated(STATUS_LABELS) == {code: str(label) for code, label in STATUS_LABELS.items()}
    with translation.override("fr"):
        french = translated(State.choices)[State.SUBMITTED]
    with translation.override("en"):
        assert translated(State.choices)[State.SUBMITTED] != french  # each call in its own language
