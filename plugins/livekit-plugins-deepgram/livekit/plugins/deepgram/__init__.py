"""Deepgram speech-to-text for LiveKit Agents: ``deepgram.STT`` or ``stt="deepgram/nova-3"``.

Classes are imported on first use, so ``import livekit.plugins.deepgram`` stays cheap and the
Deepgram SDK loads only when an STT is created.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .version import __version__

if TYPE_CHECKING:
    from ._stream import SpeechStream
    from .stt import STT

__all__ = ["STT", "SpeechStream", "__version__"]

_LAZY = {
    "STT": ".stt",
    "SpeechStream": "._stream",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value
