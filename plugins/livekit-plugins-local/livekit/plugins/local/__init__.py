"""Offline providers for LiveKit Agents: speech-to-text and a small LLM, with no network.

- ``STT``: Whisper base on faster-whisper (``"local/whisper-base"``)
- ``PocketSphinxSTT``: PocketSphinx, a light fallback (``"local/pocketsphinx"``)
- ``LLM``: SmolLM2-135M-Instruct on llama.cpp (``"local/smollm2"``)

Every model comes inside a PyPI package; nothing is downloaded at run time. Classes are
imported on first use, so resolving one provider never loads the others' runtimes.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .version import __version__

if TYPE_CHECKING:
    from ._weights import ModelIntegrityError, ModelNotInstalledError
    from .llm import LLM, SamplingOptions
    from .pocketsphinx import PocketSphinxSTT
    from .stt import STT

__all__ = [
    "LLM",
    "STT",
    "ModelIntegrityError",
    "ModelNotInstalledError",
    "PocketSphinxSTT",
    "SamplingOptions",
    "__version__",
]

_LAZY = {
    "STT": ".stt",
    "LLM": ".llm",
    "SamplingOptions": ".llm",
    "PocketSphinxSTT": ".pocketsphinx",
    "ModelIntegrityError": "._weights",
    "ModelNotInstalledError": "._weights",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value
