"""Entry-point factory: how the ``"semantic"`` turn-detector string becomes an object.

The factory imports the implementation (numpy, onnxruntime) only when called.
"""

from __future__ import annotations

from typing import Any

from livekit.agents.registry import provider


@provider(
    kind="turn_detector",
    extra="turn-detector",
    description="Smart Turn v3.2 audio end-of-turn model (ONNX Runtime, model bundled, 23 languages)",
    models=("smart-turn-v3.2",),
)
def turn_detector(model: str | None, variant: str | None, **options: Any) -> Any:
    from .detector import SmartTurnDetector

    return SmartTurnDetector(**options)
