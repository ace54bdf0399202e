"""Turn framework audio (16-bit PCM frames, any rate/layout) into what local models take."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from livekit.agents.utils.audio import AudioBuffer, AudioConverter

if TYPE_CHECKING:
    import numpy.typing as npt

__all__ = ["to_float32_mono", "to_int16_mono"]


def to_int16_mono(buffer: AudioBuffer, sample_rate: int) -> npt.NDArray[np.int16]:
    """Concatenate frames, mixed to mono and resampled to ``sample_rate``."""
    frames = buffer if isinstance(buffer, list) else [buffer]
    converter = AudioConverter(sample_rate, 1)
    chunks: list[bytes] = []
    for frame in frames:
        chunks.extend(bytes(f.data) for f in converter.push(frame))
    chunks.extend(bytes(f.data) for f in converter.flush())
    return np.frombuffer(b"".join(chunks), dtype=np.int16)


def to_float32_mono(buffer: AudioBuffer, sample_rate: int) -> npt.NDArray[np.float32]:
    """Like :func:`to_int16_mono`, scaled to float32 in [-1, 1] (Whisper's input)."""
    return to_int16_mono(buffer, sample_rate).astype(np.float32) / 32768.0
