"""Piper text-to-speech for LiveKit Agents: offline, fast on CPU, voices from PyPI packages.

This plugin is licensed GPL-3.0-or-later because piper-tts is.
``TTS`` is imported on first use, so resolving the provider never loads onnxruntime early.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .version import __version__

if TYPE_CHECKING:
    from .tts import TTS

__all__ = ["TTS", "__version__"]

_LAZY = {"TTS": ".tts"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value
