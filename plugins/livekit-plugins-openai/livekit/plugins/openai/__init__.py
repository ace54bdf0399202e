"""OpenAI plugin for LiveKit Agents: LLM (Chat Completions), STT and TTS.

The LLM also drives any OpenAI-compatible server (Ollama, vLLM, LM Studio, ...) through
``base_url``. Classes are imported on first use, so resolving one provider kind never imports
the others (or the ``openai`` SDK before it is needed).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .version import __version__

if TYPE_CHECKING:
    from .llm import LLM, LLMStream
    from .stt import STT
    from .tts import TTS

__all__ = ["LLM", "STT", "TTS", "LLMStream", "__version__"]

_LAZY = {
    "LLM": ".llm",
    "LLMStream": ".llm",
    "STT": ".stt",
    "TTS": ".tts",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
