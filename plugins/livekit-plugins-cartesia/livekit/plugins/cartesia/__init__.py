"""Cartesia text-to-speech for LiveKit Agents: ``cartesia.TTS`` or ``tts="cartesia/sonic-2"``.

Classes are imported on first use, so ``import livekit.plugins.cartesia`` stays cheap and the
Cartesia SDK loads only when a TTS is created.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .version import __version__

if TYPE_CHECKING:
    from ._stream import SynthesizeStream
    from .tts import TTS, ChunkedStream

__all__ = ["TTS", "ChunkedStream", "SynthesizeStream", "__version__"]

_LAZY = {
    "TTS": ".tts",
    "ChunkedStream": ".tts",
    "SynthesizeStream": "._stream",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value
