"""A turn detector for tests: a rule on the transcript, or a fixed probability."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Union

from ..llm import ChatMessage
from ..turn import TurnDetector

if TYPE_CHECKING:
    from livekit import rtc

    from ..llm import ChatContext

__all__ = ["FakeTurnDetector"]

_UNFINISHED = re.compile(r"(\.\.\.|…|,|\b(and|or|but|so|because|is|my|the|a|to|um|uh)|\d)\s*$", re.I)


class FakeTurnDetector(TurnDetector):
    """Without arguments: a finished sentence ("...?" or "...") is complete (0.9); one ending in
    a comma, a conjunction, "um", an ellipsis or digits ("my number is 415") is not (0.05)."""

    def __init__(self, probability: Union[float, Callable[[str], float], None] = None, *, threshold: float = 0.5) -> None:
        self._probability = probability
        self._threshold = threshold
        self.predictions: list[tuple[str, float]] = []

    @property
    def model(self) -> str:
        return "rules"

    @property
    def provider(self) -> str:
        return "fake"

    async def unlikely_threshold(self, language: str | None) -> float | None:
        return self._threshold

    async def predict_end_of_turn(
        self, chat_ctx: ChatContext, *, audio: rtc.AudioFrame | None = None, timeout: float | None = None
    ) -> float:
        text = next(
            (m.text_content or "" for m in reversed(chat_ctx.items) if isinstance(m, ChatMessage) and m.role == "user"),
            "",
        )
        if callable(self._probability):
            p = float(self._probability(text))
        elif self._probability is not None:
            p = float(self._probability)
        else:
            p = 0.05 if _UNFINISHED.search(text.strip()) else 0.9
        self.predictions.append((text, p))
        return p
