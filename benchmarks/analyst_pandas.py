"""The analyst's script: what one would write with pandas over the history file, the yardstick
the import and the delay report are measured against (docs/benchmarks.md).

    python benchmarks/analyst_pandas.py history.csv [--as-of 2025-12-31T23:59:59+00:00]

``load`` reads the file as the import does (every column, instants parsed with their offsets,
rows ordered per request). ``report`` computes from it the figures ``delay_report`` gives on
the same history (docs/delays.md, "Rules"): each request's time per stage from its consecutive
changes of state, then over the requests that need matching delivered by ``as_of`` the count,
mean, median and 90th percentile per stage, the headline (delivered, met within 7 months
applicant time excluded, institution days) and the open requests past their deadline. It
prints the time of each step.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import numpy as np
import pandas as pd

PARIS = "Europe/Paris"
STAGES = ("submitted", "cesrees_review", "cnil_review", "contracting", "matching", "extraction",
          "awaiting_applicant")
ENDING = ("delivered", "rejected", "withdrawn")
TARGET_MONTHS = 7
NS_PER_DAY = 86_400 * 10**9


def load(path: str) -> pd.DataFrame:
    """The history file in one frame, instants in UTC, rows ordered by request then instant."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame["at"] = pd.to_datetime(frame["at"], utc=True, format="ISO8601")
    return frame.sort_values(["reference", "at"], kind="stable").reset_index(drop=True)


def _paris_day(instants: pd.Series) -> pd.Series:
    """The Europe/Paris calendar date of each instant, as a naive midnight."""
    return instants.dt.tz_convert(PARIS).dt.tz_localize(None).dt.normalize()


def _utc(instants: pd.Series) -> np.ndarray:
    """Naive UTC instants in a numpy array (NaT compares false), for fast comparisons."""
    return instants.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[ns]")


def _stats(values: pd.Series) -> dict[str, Any]:
    return {"count": int(values.size),
            "mean_days": float(values.mean()) if values.size else None,
            "median_days": float(values.median()) if values.size else None,
            "p90_days": float(values.quantile(0.9)) if values.size else None}


def report(frame: pd.DataFrame, as_of: pd.Timestamp | str) -> dict[str, Any]:
    """The delay report's figures as of ``as_of`` (an aware instant), from ``load``'s frame."""
    as_of = pd.Timestamp(as_of)
    rows = frame.loc[frame["at"] <= as_of, ["reference", "at", "state", "datasets", "requires_matching"]]
    reference = rows["reference"]
    first_row = (reference != reference.shift()).to_numpy()
    # Each request's matching need, on its first row: true/false, or two datasets or more.
    firsts = rows.loc[first_row].set_index("reference")
    declared = firsts["requires_matching"].str.lower()
    matching = declared.eq("true") | (declared.eq("") & firsts["datasets"].str.count(";").ge(1))

    # Changes of state only (a row to the same state is an extension), each lasting to the next.
    changes = rows.loc[first_row | (rows["state"] != rows["state"].shift()).to_numpy(), ["reference", "at", "state"]]
    last = (changes["reference"] != changes["reference"].shift(-1)).to_numpy()
    following = changes["at"].shift(-1).where(~last, as_of)
    changes = changes.assign(ns=(_utc(following) - _utc(changes["at"])).astype("int64"))

    submitted_at = changes.loc[changes["state"] == "submitted"].groupby("reference")["at"].first()
    ended = changes.loc[changes["state"].isin(ENDING)].groupby("reference")[["at", "state"]].first()
    requests = pd.DataFrame({"submitted_at": submitted_at})
    requests["ended_at"] = ended["at"]
    requests["ending"] = ended["state"]
    requests["matching"] = matching.reindex(requests.index).fillna(False).astype(bool)
    requests["deadline"] = _paris_day(requests["submitted_at"]) + pd.DateOffset(months=TARGET_MONTHS)

    # Stage time: the visits from the first submission up to the ending event.
    bounds = requests.reindex(changes["reference"].to_numpy())
    at = _utc(changes["at"])
    measured = ((at >= _utc(bounds["submitted_at"])) & ~(at >= _utc(bounds["ended_at"]))
                & changes["state"].isin(STAGES).to_numpy())
    stage_ns = changes.loc[measured].pivot_table(index="reference", columns="state", values="ns", aggfunc="sum")
    stage_days = stage_ns.reindex(index=requests.index, columns=list(STAGES)).fillna(0) / NS_PER_DAY

    delivered = requests.loc[requests["matching"] & requests["ending"].eq("delivered")]
    days = stage_days.loc[delivered.index]
    elapsed = (delivered["ended_at"] - delivered["submitted_at"]).dt.total_seconds() / 86_400
    applicant = days["awaiting_applicant"]
    institution = elapsed - applicant
    met = (_paris_day(delivered["ended_at"] - pd.to_timedelta(applicant * NS_PER_DAY, unit="ns"))
           <= delivered["deadline"])
    stages = {stage: _stats(days[stage][days[stage] > 0]) for stage in STAGES}
    means = {stage: s["mean_days"] for stage, s in stages.items()
             if stage != "awaiting_applicant" and s["mean_days"] is not None}
    open_target = requests.loc[requests["matching"] & requests["ended_at"].isna()]
    today = _paris_day(pd.Series([as_of]))[0]
    figures = _stats(institution)
    return {
        "as_of": as_of.isoformat(),
        "summary": {
            "delivered": int(delivered.shape[0]), "met": int(met.sum()),
            "missed": int(delivered.shape[0] - met.sum()),
            "late": int((open_target["deadline"] < today).sum()),
            "share_met": float(met.mean()) if delivered.shape[0] else None,
            "mean_institution_days": figures["mean_days"], "median_institution_days": figures["median_days"],
            "p90_institution_days": figures["p90_days"],
            "mean_access_days": float(elapsed.mean()) if elapsed.size else None,
            "median_access_days": float(elapsed.median()) if elapsed.size else None,
            "bottleneck_stage": max(means, key=lambda s: means[s]) if means else None,
        },
        "stages": stages,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv")
    parser.add_argument("--as-of", default="2025-12-31T23:59:59+00:00")
    parser.add_argument("--json", action="store_true", help="print the figures")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    frame = load(args.csv)
    loaded = time.perf_counter()
    figures = report(frame, args.as_of)
    done = time.perf_counter()
    print(f"load: {len(frame):,} rows in {loaded - started:.2f} s; report: {done - loaded:.2f} s")
    if args.json:
        print(json.dumps(figures, indent=2, default=lambda v: v.item() if isinstance(v, np.generic) else str(v)))


if __name__ == "__main__":
    main()
