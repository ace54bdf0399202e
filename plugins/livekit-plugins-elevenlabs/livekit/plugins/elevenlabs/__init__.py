"""ElevenLabs text-to-speech for LiveKit Agents.

``TTS`` streams text over the streaming-input websocket and synthesizes whole texts over the REST
streaming endpoint. Classes are imported on first use, so resolving the provider by string
imports only what it needs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .version import __version__

if TYPE_CHECKING:
    from .models import VoiceSettings
    from .tts import TTS

__all__ = ["TTS", "VoiceSettings", "__version__"]

_LAZY = {
    "TTS": ".tts",
    "VoiceSettings": ".models",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
