"""Entry-point factories: how ``"local/<model>"`` strings become objects.

``"local/whisper-base[:language]"`` and ``"local/pocketsphinx"`` (STT), ``"local/smollm2"``
(LLM). Each factory imports its implementation, and the model runtime, only when called.
"""

from __future__ import annotations

from typing import Any

from livekit.agents.registry import provider

STT_MODELS = ("whisper-base", "pocketsphinx")
LLM_MODELS = ("smollm2",)


@provider(
    kind="stt",
    extra="local",
    description="Offline STT: Whisper base (faster-whisper, int8 CPU) or PocketSphinx",
    models=STT_MODELS,
)
def stt(model: str | None, variant: str | None, **options: Any) -> Any:
    model = model or "whisper-base"
    if "language" in options and variant is not None:
        raise ValueError("give the language either in the string (':fr') or as language=, not both")
    if variant is not None:
        options["language"] = variant
    if model == "whisper-base":
        from .stt import STT

        return STT(model=model, **options)
    if model == "pocketsphinx":
        from .pocketsphinx import PocketSphinxSTT

        return PocketSphinxSTT(**options)
    raise ValueError(
        f"unknown local STT model {model!r}; available: {', '.join(repr(m) for m in STT_MODELS)}"
    )


@provider(
    kind="llm",
    extra="local",
    description="Offline LLM: SmolLM2-135M-Instruct on llama.cpp",
    models=LLM_MODELS,
)
def llm(model: str | None, variant: str | None, **options: Any) -> Any:
    model = model or "smollm2"
    if variant is not None:
        raise ValueError(f"local/{model} takes no variant (got ':{variant}')")
    if model not in LLM_MODELS:
        raise ValueError(
            f"unknown local LLM model {model!r}; available: "
            f"{', '.join(repr(m) for m in LLM_MODELS)}"
        )
    from .llm import LLM

    return LLM(model=model, **options)
