"""Shared helpers for the benchmarks: statistics and result printing."""

from __future__ import annotations

import json
import statistics
import sys
from typing import Any


def summarize(values: list[float], unit: str = "ms", scale: float = 1000.0) -> dict[str, Any]:
    data = sorted(v * scale for v in values)
    p95 = data[max(0, round(0.95 * len(data)) - 1)]
    return {
        "n": len(data),
        "median": round(statistics.median(data), 3),
        "p95": round(p95, 3),
        "max": round(data[-1], 3),
        "min": round(data[0], 3),
        "unit": unit,
    }


def report(name: str, rows: dict[str, Any]) -> None:
    print(f"\n== {name}")
    for key, value in rows.items():
        print(f"  {key}: {json.dumps(value)}")
    sys.stdout.flush()
