"""Entry-point factory: how the ``"silero"`` VAD string becomes an object.

The factory imports the implementation (numpy, onnxruntime) only when called.
"""

from __future__ import annotations

from typing import Any

from livekit.agents.registry import provider


@provider(
    kind="vad",
    extra="silero",
    description="Silero VAD v6 (ONNX Runtime, model bundled, 8/16 kHz)",
    models=("silero-vad",),
)
def vad(model: str | None, variant: str | None, **options: Any) -> Any:
    from .vad import VAD

    return VAD(**options)
