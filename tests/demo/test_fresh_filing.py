"""Issue 14: "à risque" on the day a dossier is filed. The rule (docs/delays.md, rule 6) is that
a dossier is at risk when its forecast (now + the medians of the stages ahead) falls after its
7-month deadline; on the day it is filed, that is exactly when the medians of its whole path
do not fit in the 7 months. No day-0 exception either way: whatever the instant of filing (late
evening in Paris, a 31st, the night the clocks change), the status follows the medians."""

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from delays import rules
from hdh_access.lib.dates import PARIS, add_months, paris_date

PATH = rules.STANDARD_PATH
SHARES = {rules.SUBMITTED: 0.04, rules.CESREES_REVIEW: 0.15, rules.CNIL_REVIEW: 0.24, rules.CONTRACTING: 0.19,
          rules.MATCHING: 0.21, rules.EXTRACTION: 0.17}


def medians_summing_to(days: float) -> dict[str, float]:
    return {**{stage: days * share for stage, share in SHARES.items()}, rules.HISTORY_KEY: 150}


@settings(max_examples=300, deadline=None)
@given(
    filed=st.datetimes(min_value=dt.datetime(2024, 1, 1), max_value=dt.datetime(2030, 12, 31), timezones=st.just(PARIS)),
    minutes_later=st.integers(min_value=0, max_value=600),
    total_days=st.floats(min_value=30, max_value=420),
)
def test_a_dossier_filed_today_is_at_risk_exactly_when_the_medians_of_its_path_miss_the_deadline(
        filed, minutes_later, total_days):
    filed = filed.astimezone(dt.UTC)
    now = filed + dt.timedelta(minutes=minutes_later)
    medians = medians_summing_to(total_days)
    delay = rules.compute_delay([(rules.DRAFT, filed - dt.timedelta(days=20)), (rules.SUBMITTED, filed)],
                                requires_matching=True, as_of=now, medians=medians, path=PATH)
    assert delay is not None and delay.forecast_at is not None
    deadline = add_months(paris_date(filed), 7)
    ahead = total_days - min(medians[rules.SUBMITTED], (now - filed).total_seconds() / 86400)
    fits = paris_date(now + dt.timedelta(days=ahead)) <= deadline
    assert delay.status == (rules.STATUS_ON_TRACK if fits else rules.STATUS_AT_RISK)


def test_the_first_demo_baseline_put_every_fresh_filing_at_risk():
    """The demo before issue 14: its deliveries (2022-2025) gave stage medians summing to about
    311 days (10.2 months) for a matching dossier, so a dossier filed today was forecast 10 months
    out: at risk, rightly. The demo's calibration now gives about 6 months (test_seed_demo)."""
    filed = dt.datetime(2026, 12, 7, 10, tzinfo=PARIS)
    old = {rules.SUBMITTED: 7.3, rules.CESREES_REVIEW: 32.3, rules.CNIL_REVIEW: 45.9, rules.CONTRACTING: 40.7,
           rules.MATCHING: 106.9, rules.EXTRACTION: 78.4, rules.HISTORY_KEY: 197}
    at_risk = rules.compute_delay([(rules.SUBMITTED, filed)], requires_matching=True, as_of=filed, medians=old)
    assert at_risk is not None and at_risk.status == rules.STATUS_AT_RISK
    fitting = rules.compute_delay([(rules.SUBMITTED, filed)], requires_matching=True, as_of=filed,
                                  medians=medians_summing_to(185))
    assert fitting is not None and fitting.status == rules.STATUS_ON_TRACK
