"""Anthropic plugin for LiveKit Agents: Claude models through the Messages API.

Classes are imported on first use, so importing the package does not load the ``anthropic`` SDK.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .version import __version__

if TYPE_CHECKING:
    from .llm import LLM, LLMStream

__all__ = ["LLM", "LLMStream", "__version__"]

_LAZY = {"LLM": ".llm", "LLMStream": ".llm"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
