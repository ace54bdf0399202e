"""A TTS for tests: a quiet tone whose length follows the text, with controllable latency."""

from __future__ import annotations

import asyncio
import math

from ..tts import TTS, AudioEmitter, ChunkedStream, SynthesizeStream, TTSCapabilities
from ..types import DEFAULT_API_CONNECT_OPTIONS, APIConnectOptions
from ..utils.misc import shortuuid

__all__ = ["FakeTTS"]


def _tone(seconds: float, sample_rate: int, freq: float, phase: int) -> tuple[bytes, int]:
    import numpy as np

    n = max(1, int(seconds * sample_rate))
    t = (np.arange(n) + phase) / sample_rate
    pcm = (0.2 * 32767 * np.sin(2 * math.pi * freq * t)).astype(np.int16)
    return pcm.tobytes(), phase + n


class FakeTTS(TTS):
    """``seconds_per_char`` of 440 Hz tone per character of text.

    ``ttfb`` delays the first audio; ``error`` makes every request fail. Every text synthesized
    is recorded in ``texts``.
    """

    def __init__(
        self,
        *,
        sample_rate: int = 24000,
        streaming: bool = True,
        seconds_per_char: float = 0.05,
        ttfb: float = 0.0,
        error: Exception | None = None,
        voice: str = "tone",
    ) -> None:
        super().__init__(capabilities=TTSCapabilities(streaming=streaming), sample_rate=sample_rate)
        self._spc = seconds_per_char
        self._ttfb = ttfb
        self.error = error
        self.voice = voice
        self.texts: list[str] = []

    @property
    def model(self) -> str:
        return "tone"

    @property
    def provider(self) -> str:
        return "fake"

    def synthesize(
        self, text: str, *, conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS
    ) -> ChunkedStream:
        return _FakeChunked(self, text, conn_options)

    def stream(
        self, *, conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS
    ) -> SynthesizeStream:
        if not self.capabilities.streaming:
            return super().stream(conn_options=conn_options)
        return _FakeStream(self, conn_options)


class _FakeChunked(ChunkedStream):
    def __init__(self, tts: FakeTTS, text: str, conn_options: APIConnectOptions) -> None:
        super().__init__(tts=tts, input_text=text, conn_options=conn_options)
        self._fake = tts

    async def _run(self, output_emitter: AudioEmitter) -> None:
        if self._fake.error is not None:
            raise self._fake.error
        output_emitter.initialize(request_id=shortuuid("fake_"), sample_rate=self._fake.sample_rate, num_channels=1)
        if self._fake._ttfb:
            await asyncio.sleep(self._fake._ttfb)
        self._fake.texts.append(self._input_text)
        pcm, _ = _tone(len(self._input_text) * self._fake._spc, self._fake.sample_rate, 440.0, 0)
        output_emitter.push(pcm)
        output_emitter.flush()


class _FakeStream(SynthesizeStream):
    def __init__(self, tts: FakeTTS, conn_options: APIConnectOptions) -> None:
        super().__init__(tts=tts, conn_options=conn_options)
        self._fake = tts

    async def _run(self, output_emitter: AudioEmitter) -> None:
        if self._fake.error is not None:
            raise self._fake.error
        output_emitter.initialize(request_id=shortuuid("fake_"), sample_rate=self._fake.sample_rate,
                                  num_channels=1, stream=True)
        first = True
        phase = 0
        segment = ""
        async for item in self._input_ch:
            if isinstance(item, str):
                if first and self._fake._ttfb:
                    await asyncio.sleep(self._fake._ttfb)
                first = False
                segment += item
                pcm, phase = _tone(len(item) * self._fake._spc, self._fake.sample_rate, 440.0, phase)
                output_emitter.push(pcm)
            else:
                if segment:
                    self._fake.texts.append(segment)
                segment = ""
                output_emitter.flush()
        if segment:
            self._fake.texts.append(segment)
