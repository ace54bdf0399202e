"""Entry-point factory: how ``"elevenlabs/<model>[:<voice id>]"`` strings become objects.

The model may be a short name (``multilingual-v2``, ``flash-v2.5``, ``turbo-v2.5``, ``v3``) or a
full model id (``eleven_multilingual_v2``); the variant is a voice id. The implementation and the
``elevenlabs`` SDK are imported only when the factory is called.
"""

from __future__ import annotations

from typing import Any

from livekit.agents.registry import provider


@provider(
    kind="tts",
    extra="elevenlabs",
    description="ElevenLabs text-to-speech (streaming-input websocket, raw PCM)",
    models=("flash-v2.5", "turbo-v2.5", "multilingual-v2", "v3"),
)
def tts(model: str | None, variant: str | None, **options: Any) -> Any:
    from .tts import TTS

    if model is not None:
        options["model"] = model
    if variant is not None:
        options["voice"] = variant
    return TTS(**options)
