"""Entry-point factory: how ``"anthropic/<model>"`` strings become objects.

``anthropic/claude-3-5-sonnet`` uses the newest snapshot of that model (see ``models.py``); a full
id such as ``anthropic/claude-sonnet-4-20250514`` is used as given. The factory imports the
implementation (and the SDK) only when called.
"""

from __future__ import annotations

from typing import Any

from livekit.agents.registry import provider

from .models import DEFAULT_MODEL, MODELS


@provider(
    kind="llm",
    extra="anthropic",
    description="Anthropic Claude (Messages API, streamed, with tool use)",
    models=MODELS,
)
def llm(model: str | None, variant: str | None, **options: Any) -> Any:
    from .llm import LLM

    name = model or DEFAULT_MODEL
    if variant is not None:
        name = f"{name}:{variant}"  # ids with a colon (e.g. gateway ids) are kept whole
    return LLM(model=name, **options)
