"""Speech-to-text protocol and adapters."""

from .fallback_adapter import AvailabilityChangedEvent, FallbackAdapter
from .stream_adapter import StreamAdapter
from .stt import (
    STT,
    RecognitionUsage,
    RecognizeStream,
    SpeechData,
    SpeechEvent,
    SpeechEventType,
    SpeechStream,
    STTCapabilities,
    STTError,
)

__all__ = [
    "STT",
    "AvailabilityChangedEvent",
    "FallbackAdapter",
    "RecognitionUsage",
    "RecognizeStream",
    "STTCapabilities",
    "STTError",
    "SpeechData",
    "SpeechEvent",
    "SpeechEventType",
    "SpeechStream",
    "StreamAdapter",
]
