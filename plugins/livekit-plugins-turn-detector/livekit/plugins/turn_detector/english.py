"""``EnglishModel``: the name LiveKit Agents code imports for English turn detection.

``from livekit.plugins.turn_detector.english import EnglishModel`` runs unchanged; the model
behind it is this package's Smart Turn detector, used for English only (other languages fall
back to ``min_endpointing_delay``).
"""

from __future__ import annotations

from .detector import SmartTurnDetector

__all__ = ["EnglishModel"]


class EnglishModel(SmartTurnDetector):
    """Smart Turn for English (``unlikely_threshold`` as in LiveKit Agents)."""

    def __init__(self, *, unlikely_threshold: float | None = None, cpu_threads: int = 1) -> None:
        super().__init__(
            unlikely_threshold=0.5 if unlikely_threshold is None else unlikely_threshold,
            languages=["en"],
            cpu_threads=cpu_threads,
        )
