"""Text-to-speech protocol and adapters."""

from .fallback_adapter import AvailabilityChangedEvent, FallbackAdapter
from .stream_adapter import StreamAdapter
from .tts import (
    TTS,
    AudioEmitter,
    ChunkedStream,
    SynthesizedAudio,
    SynthesizeStream,
    TTSCapabilities,
    TTSError,
)

__all__ = [
    "TTS",
    "AudioEmitter",
    "AvailabilityChangedEvent",
    "ChunkedStream",
    "FallbackAdapter",
    "StreamAdapter",
    "SynthesizeStream",
    "SynthesizedAudio",
    "TTSCapabilities",
    "TTSError",
]
