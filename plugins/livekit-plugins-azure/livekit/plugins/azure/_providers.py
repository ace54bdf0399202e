"""Entry-point factory: how ``"azure/speech[:<language>]"`` strings become objects.

The model is ``speech`` (the Speech service's standard recognition); the variant is a BCP-47
language such as ``fr-FR`` (default ``en-US``). The implementation is imported only when the
factory is called.
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
