"""Entry-point factories: how ``"azure/..."`` strings become objects.

STT: ``azure/speech[:<language>]``, the variant a BCP-47 language such as ``fr-FR`` (default
``en-US``). TTS: ``azure/neural[:<voice>]``, the variant a voice name such as
``en-US-JennyNeural``. Implementations are imported only when a factory is called.
"""

from __future__ import annotations

from typing import Any

from livekit.agents.registry import provider


@provider(
    kind="stt",
    extra="azure",
    description="Azure AI Speech speech-to-text (streaming, interim results)",
    models=("speech",),
)
def stt(model: str | None, variant: str | None, **options: Any) -> Any:
    from .stt import STT

    if model is not None and model != "speech":
        raise ValueError(
            f"unknown Azure STT model {model!r}: use 'azure/speech' or 'azure/speech:<language>'"
        )
    if variant is not None:
        options["language"] = variant
    return STT(**options)


@provider(
    kind="tts",
    extra="azure",
    description="Azure AI Speech neural text-to-speech (REST, raw PCM)",
    models=("neural",),
)
def tts(model: str | None, variant: str | None, **options: Any) -> Any:
    from .tts import TTS

    if model is not None and model != "neural":
        raise ValueError(
            f"unknown Azure TTS model {model!r}: use 'azure/neural' or 'azure/neural:<voice name>'"
        )
    if variant is not None:
        options["voice"] = variant
    return TTS(**options)
