"""The turn-detector protocol: how likely is it that the user has finished their turn?

The session asks the detector after each pause in the user's speech. A probability below the
detector's ``unlikely_threshold`` makes the session wait up to ``max_endpointing_delay``
(the user is probably mid-sentence, "my number is 415..."); otherwise it replies after
``min_endpointing_delay``. Detectors may read the conversation text, the user's audio, or both.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from livekit import rtc

    from .llm import ChatContext

__all__ = ["TurnDetector"]


class TurnDetector(ABC):
    """Base class of end-of-turn models."""

    #: True when :meth:`predict_end_of_turn` needs the audio of the user's turn.
    needs_audio: bool = False
    #: Sample rate the detector wants the turn audio in (when ``needs_audio``).
    sample_rate: int = 16000

    @property
    def model(self) -> str:
        return "unknown"

    @property
    def provider(self) -> str:
        return "unknown"

    @abstractmethod
    async def predict_end_of_turn(
        self,
        chat_ctx: ChatContext,
        *,
        audio: rtc.AudioFrame | None = None,
        timeout: float | None = None,
    ) -> float:
        """Probability in [0, 1] that the user's turn is complete.

        ``chat_ctx`` ends with the user's current (uncommitted) transcript; ``audio`` is the
        recent audio of the turn, mono at :attr:`sample_rate`, when :attr:`needs_audio` is set.
        """

    async def unlikely_threshold(self, language: str | None) -> float | None:
        """Probability under which the turn is considered unfinished (None: language unsupported)."""
        return 0.5

    async def supports_language(self, language: str | None) -> bool:
        return await self.unlikely_threshold(language) is not None

    async def aclose(self) -> None:
        """Release resources (shared models usually stay loaded for the process)."""
