"""Entry-point factory: how ``"deepgram/<model>[:<language>]"`` strings become an STT.

The factory imports the implementation (and the Deepgram SDK) only when called.
"""

from __future__ import annotations

from typing import Any

from livekit.agents.registry import provider

from .models import STT_MODELS


@provider(
    kind="stt",
    extra="deepgram",
    description="Deepgram streaming speech-to-text (nova-3, nova-2, ...)",
    models=STT_MODELS,
)
def stt(model: str | None, variant: str | None, **options: Any) -> Any:
    from .stt import STT

    if model is not None:
        options["model"] = model
    if variant is not None:
        options["language"] = variant
    return STT(**options)
