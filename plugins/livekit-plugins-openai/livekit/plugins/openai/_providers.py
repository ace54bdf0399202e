"""Entry-point factories: how ``"openai/<model>[:<variant>]"`` strings become objects.

* LLM ``openai/gpt-4o-mini``; an Ollama-style tag comes back joined: ``openai/llama3.2:3b`` is
  the model ``llama3.2:3b`` (with ``OPENAI_BASE_URL`` or ``base_url=`` pointing at the server).
* STT ``openai/whisper[:language]`` (``whisper`` means ``whisper-1``), ``openai/gpt-4o-transcribe``.
* TTS ``openai/tts-1[:voice]``, ``openai/gpt-4o-mini-tts:coral``.

Each factory imports its implementation (and the SDK) only when called.
"""

from __future__ import annotations

from typing import Any

from livekit.agents.registry import provider

from .models import (
    DEFAULT_LLM_MODEL,
    DEFAULT_STT_MODEL,
    DEFAULT_TTS_MODEL,
    DEFAULT_VOICE,
    LLM_MODELS,
    STT_MODELS,
    TTS_MODELS,
)


@provider(
    kind="llm",
    extra="openai",
    description="OpenAI Chat Completions (also OpenAI-compatible servers: Ollama, vLLM, ...)",
    models=LLM_MODELS,
)
def llm(model: str | None, variant: str | None, **options: Any) -> Any:
    from .llm import LLM

    name = model or DEFAULT_LLM_MODEL
    if variant is not None:
        name = f"{name}:{variant}"  # Ollama tags: llama3.2:3b
    return LLM(model=name, **options)


@provider(
    kind="stt",
    extra="openai",
    description="OpenAI speech-to-text (batch; streamed through the VAD adapter)",
    models=STT_MODELS,
)
def stt(model: str | None, variant: str | None, **options: Any) -> Any:
    from .stt import STT

    if variant is not None:
        options.setdefault("language", variant)
    return STT(model=model or DEFAULT_STT_MODEL, **options)


@provider(
    kind="tts",
    extra="openai",
    description="OpenAI text-to-speech (24 kHz PCM, streamed)",
    models=TTS_MODELS,
)
def tts(model: str | None, variant: str | None, **options: Any) -> Any:
    from .tts import TTS

    options.setdefault("voice", variant or DEFAULT_VOICE)
    return TTS(model=model or DEFAULT_TTS_MODEL, **options)
