"""Write a realistic generated history CSV (access_requests.demo_history) for the benchmarks.

    python benchmarks/generate_history.py --requests 100000 --out /tmp/history.csv [--seed 42] [--as-of 2025-12-31]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from demo.history import COLUMNS, generate, write_csv  # noqa: E402

__all__ = ["COLUMNS", "generate", "write_csv"]


def _parse_as_of(value: str) -> dt.datetime:
    instant = dt.datetime.fromisoformat(value)
    if instant.tzinfo is None:
        if len(value) <= 10:  # a date: the end of that day
            instant = instant + dt.timedelta(days=1) - dt.timedelta(seconds=1)
        instant = instant.replace(tzinfo=dt.UTC)
    return instant


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate a realistic access-request history CSV.")
    parser.add_argument("--requests", type=int, default=100_000, help="number of requests (default 100000)")
    parser.add_argument("--out", required=True, help="CSV file to write")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--as-of", type=_parse_as_of, default=_parse_as_of("2025-12-31"),
                        help="histories stop at this date or instant (UTC when naive; default 2025-12-31)")
    args = parser.parse_args(argv)
    rows = write_csv(args.out, args.requests, args.seed, args.as_of)
    print(f"{args.requests} requests, {rows} rows written to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
