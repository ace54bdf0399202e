"""Entry-point factories: ``"local/piper[:voice]"`` and ``"piper/<voice>"`` become a Piper TTS.

The factory imports the implementation (and piper) only when called.
"""

from __future__ import annotations

from typing import Any

from livekit.agents.registry import provider

VOICES = ("joe",)


def _make(voice: str | None, options: dict[str, Any]) -> Any:
    if voice is not None and "voice" in options:
        raise ValueError("give the voice either in the string or as voice=, not both")
    if voice is not None:
        options["voice"] = voice
    from .tts import TTS

    return TTS(**options)


@provider(
    kind="tts",
    extra="piper",
    description="Offline TTS: Piper (GPL-3.0-or-later), voice as variant",
    models=("piper",),
)
def tts_local(model: str | None, variant: str | None, **options: Any) -> Any:
    """``"local/piper"`` or ``"local/piper:joe"``."""
    model = model or "piper"
    if model != "piper":
        raise ValueError(f"unknown local TTS model {model!r}; available: 'piper'")
    return _make(variant, options)


@provider(
    kind="tts",
    extra="piper",
    description="Offline TTS: Piper (GPL-3.0-or-later), voice as model",
    models=VOICES,
)
def tts(model: str | None, variant: str | None, **options: Any) -> Any:
    """``"piper/joe"`` (the model is the voice)."""
    if variant is not None:
        raise ValueError(
            f"piper/{model} takes no variant (got ':{variant}'); the voice is the model: "
            f"'piper/<voice>'"
        )
    return _make(model, options)
