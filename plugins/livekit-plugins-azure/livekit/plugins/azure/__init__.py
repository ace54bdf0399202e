"""Azure AI Speech speech-to-text for LiveKit Agents.

``STT`` streams audio over the Speech service websocket protocol and recognizes short utterances
over the REST endpoint; ``TTS`` synthesizes with neural voices over REST. Classes are imported on
first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .version import __version__

if TYPE_CHECKING:
    from .stt import STT
    from .tts import TTS

__all__ = ["STT", "TTS", "__version__"]

_LAZY = {"STT": ".stt", "TTS": ".tts"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
