"""``MultilingualModel``: the name LiveKit Agents code imports for multilingual turn detection.

``from livekit.plugins.turn_detector.multilingual import MultilingualModel`` runs unchanged; the
model behind it is this package's Smart Turn detector (23 languages, judged from the audio).
"""

from __future__ import annotations

from .detector import SmartTurnDetector

__all__ = ["MultilingualModel"]


class MultilingualModel(SmartTurnDetector):
    """Smart Turn for every language it knows (``unlikely_threshold`` as in LiveKit Agents)."""

    def __init__(self, *, unlikely_threshold: float | None = None, cpu_threads: int = 1) -> None:
        super().__init__(
            unlikely_threshold=0.5 if unlikely_threshold is None else unlikely_threshold,
            cpu_threads=cpu_threads,
        )
