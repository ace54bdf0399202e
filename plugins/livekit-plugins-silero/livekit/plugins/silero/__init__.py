"""Silero voice activity detection for LiveKit Agents (``AgentSession(vad="silero")``).

The Silero VAD v6 ONNX model ships inside this package and runs on ONNX Runtime (no torch).
Classes are imported on first use, so importing this package loads neither numpy nor
onnxruntime.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .version import __version__

if TYPE_CHECKING:
    from .vad import VAD, VADStream, prewarm

__all__ = ["VAD", "VADStream", "__version__", "prewarm"]

_LAZY = {
    "VAD": ".vad",
    "VADStream": ".vad",
    "prewarm": ".vad",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value
