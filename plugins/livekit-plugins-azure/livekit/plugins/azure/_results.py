"""Reading recognition results (``speech.phrase`` bodies and REST responses)."""

from __future__ import annotations

from typing import Any

#: Offsets and durations are in 100-nanosecond ticks.
TICKS = 10_000_000


def best_alternative(body: dict[str, Any]) -> tuple[str, float]:
    """The display text and confidence of the best result (``format=detailed`` or simple)."""
    nbest = body.get("NBest")
    if isinstance(nbest, list) and nbest and isinstance(nbest[0], dict):
        first = nbest[0]
        text = first.get("Display") or first.get("DisplayText") or first.get("ITN") or ""
        try:
            confidence = float(first.get("Confidence", 0.0))
        except (TypeError, ValueError):
            confidence = 0.0
        return str(text), confidence
    return str(body.get("DisplayText") or body.get("Text") or ""), 0.0


def span(body: dict[str, Any]) -> tuple[float, float]:
    """``(offset, duration)`` in seconds."""
    try:
        return float(body.get("Offset", 0)) / TICKS, float(body.get("Duration", 0)) / TICKS
    except (TypeError, ValueError):
        return 0.0, 0.0
