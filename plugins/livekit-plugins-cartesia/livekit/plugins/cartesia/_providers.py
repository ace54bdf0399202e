"""Entry-point factory: how ``"cartesia/<model>[:<voice>]"`` strings become a TTS.

The factory imports the implementation (and the Cartesia SDK) only when called.
"""

from __future__ import annotations

from typing import Any

from livekit.agents.registry import provider

from .models import TTS_MODELS


@provider(
    kind="tts",
    extra="cartesia",
    description="Cartesia Sonic text-to-speech, streamed over websockets",
    models=TTS_MODELS,
)
def tts(model: str | None, variant: str | None, **options: Any) -> Any:
    from .tts import TTS

    if model is not None:
        options["model"] = model
    if variant is not None:
        options["voice"] = variant
    return TTS(**options)
