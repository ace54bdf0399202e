"""Semantic end-of-turn detection for LiveKit Agents (``turn_detection="semantic"``).

Smart Turn v3.2, an 8 MB audio model, ships inside this package and runs on ONNX Runtime.
Classes are imported on first use, so importing this package loads neither numpy nor
onnxruntime.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .version import __version__

if TYPE_CHECKING:
    from .detector import SUPPORTED_LANGUAGES, SmartTurnDetector, prewarm

__all__ = ["SUPPORTED_LANGUAGES", "SmartTurnDetector", "__version__", "prewarm"]

_LAZY = {
    "SUPPORTED_LANGUAGES": ".detector",
    "SmartTurnDetector": ".detector",
    "prewarm": ".detector",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value
