"""The analyst's script: what one would write with pandas over the history file, the yardstick
the import and the delay report are measured against (docs/benchmarks.md).

    python benchmarks/analyst_pandas.py history.csv

``load`` reads the file as the import does (every column, instants parsed with their offsets,
rows ordered per request); it prints its time.
"""

from __future__ import annotations

import sys
import time

import pandas as pd


def load(path: str) -> pd.DataFrame:
    """The history file in one frame, instants in UTC, rows ordered by request then instant."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame["at"] = pd.to_datetime(frame["at"], utc=True, format="ISO8601")
    return frame.sort_values(["reference", "at"], kind="stable").reset_index(drop=True)


def main(argv: list[str]) -> None:
    started = time.perf_counter()
    frame = load(argv[1])
    print(f"load: {len(frame):,} rows in {time.perf_counter() - started:.2f} s")


if __name__ == "__main__":
    main(sys.argv)
