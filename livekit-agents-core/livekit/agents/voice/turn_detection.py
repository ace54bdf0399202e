"""Turn-detection modes: ``"vad"``, ``"stt"``, ``"manual"``, or a turn-detector model."""

from __future__ import annotations

from typing import Any, Literal, TypeAlias, Union

from .. import registry
from ..turn import TurnDetector

__all__ = ["TurnDetectionMode", "resolve_turn_detection"]

TurnDetectionMode: TypeAlias = Union[Literal["vad", "stt", "manual"], TurnDetector]
_MODES = ("vad", "stt", "manual")


def resolve_turn_detection(value: Any) -> TurnDetectionMode | None:
    """Validate a mode, or resolve a detector name (``"semantic"``) through the registry."""
    if value is None or isinstance(value, TurnDetector):
        return value
    if isinstance(value, str):
        if value in _MODES:
            return value  # type: ignore[return-value]
        if value == "realtime_llm":
            raise ValueError(
                "turn_detection='realtime_llm' needs a realtime (speech-to-speech) model, which "
                "this version does not support; use 'vad', 'stt', 'manual' or a detector"
            )
        return registry.resolve("turn_detector", value)  # type: ignore[no-any-return]
    raise TypeError(
        f"turn_detection must be 'vad', 'stt', 'manual', a detector name such as 'semantic', "
        f"or a TurnDetector, got {value!r}"
    )
