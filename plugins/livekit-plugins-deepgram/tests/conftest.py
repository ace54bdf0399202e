"""Fixtures: a fake Deepgram server on 127.0.0.1 and test audio."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Callable

import numpy as np
import pytest
from fake_servers.deepgram import FakeDeepgram
from livekit import rtc


@pytest.fixture(autouse=True)
def _no_base_url_from_the_shell(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests set ``DEEPGRAM_BASE_URL`` themselves; one exported in the shell must not leak in."""
    monkeypatch.delenv("DEEPGRAM_BASE_URL", raising=False)


@pytest.fixture
async def dg() -> AsyncIterator[FakeDeepgram]:
    async with FakeDeepgram() as srv:
        yield srv


def tone(seconds: float, *, rate: int = 48000, frame_ms: int = 10) -> list[rtc.AudioFrame]:
    """A quiet 220 Hz tone cut into ``frame_ms`` frames (any audio will do for the fake)."""
    per_frame = rate * frame_ms // 1000
    count = round(seconds * 1000 / frame_ms)
    t = np.arange(count * per_frame) / rate
    pcm = (3000 * np.sin(2 * math.pi * 220 * t)).astype(np.int16).reshape(count, per_frame)
    return [rtc.AudioFrame(row.tobytes(), rate, 1, per_frame) for row in pcm]


@pytest.fixture
def make_tone() -> Callable[..., list[rtc.AudioFrame]]:
    """``make_tone(seconds, rate=48000)``: frames of test audio."""
    return tone
