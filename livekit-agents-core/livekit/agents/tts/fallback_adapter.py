"""``FallbackAdapter`` for TTS: switch provider when one fails, return when it recovers."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from .._exceptions import APIConnectionError, APIError
from .._fallback import AvailabilityChangedEvent, ProviderPool
from ..types import DEFAULT_API_CONNECT_OPTIONS, APIConnectOptions
from ..utils.audio import AudioConverter
from ..utils.misc import shortuuid
from .stream_adapter import StreamAdapter
from .tts import TTS, AudioEmitter, ChunkedStream, SynthesizeStream, TTSCapabilities

if TYPE_CHECKING:
    pass

__all__ = ["AvailabilityChangedEvent", "FallbackAdapter"]


class FallbackAdapter(TTS):
    """Several TTSs behind one, resampled to one output rate (the highest by default).

    A failure before any audio was produced moves on to the next TTS with the same text;
    once audio was produced the failure is reported (repeating the start would be heard).
    Emits ``tts_availability_changed``.
    """

    def __init__(
        self,
        tts: list[TTS],
        *,
        max_retry_per_tts: int = 2,
        sample_rate: int | None = None,
        retry_interval: float = 2.0,
    ) -> None:
        if not tts:
            raise ValueError("FallbackAdapter needs at least one TTS")
        rate = sample_rate or max(t.sample_rate for t in tts)
        super().__init__(
            capabilities=TTSCapabilities(streaming=all(t.capabilities.streaming for t in tts)),
            sample_rate=rate,
            num_channels=1,
        )
        self._pool: ProviderPool[TTS] = ProviderPool(
            list(tts), event_name="tts_availability_changed", emit=self.emit,
            retry_interval=retry_interval,
        )
        self._attempt_opts = APIConnectOptions(max_retry=max_retry_per_tts)
        for child in tts:
            child.on("metrics_collected", lambda m: self.emit("metrics_collected", m))

    @property
    def ttss(self) -> list[TTS]:
        return list(self._pool.providers)

    @property
    def model(self) -> str:
        return "FallbackAdapter"

    @property
    def provider(self) -> str:
        return "livekit"

    def synthesize(
        self, text: str, *, conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS
    ) -> ChunkedStream:
        return _FallbackChunked(self, text)

    def stream(
        self, *, conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS
    ) -> SynthesizeStream:
        return _FallbackStream(self)

    async def aclose(self) -> None:
        await self._pool.aclose()


async def _forward(source: ChunkedStream | SynthesizeStream, emitter: AudioEmitter, rate: int) -> None:
    converter = AudioConverter(rate, 1)
    async for audio in source:
        for frame in converter.push(audio.frame):
            emitter.push(frame.data)
    for frame in converter.flush():
        emitter.push(frame.data)


class _FallbackChunked(ChunkedStream):
    def __init__(self, adapter: FallbackAdapter, text: str) -> None:
        super().__init__(tts=adapter, input_text=text, conn_options=APIConnectOptions(max_retry=0))
        self._adapter = adapter

    async def _run(self, output_emitter: AudioEmitter) -> None:
        output_emitter.initialize(
            request_id=shortuuid("req_"), sample_rate=self._adapter.sample_rate, num_channels=1
        )
        pool = self._adapter._pool
        errors = []
        for index, tts in pool.ordered():
            try:
                async with tts.synthesize(self._input_text, conn_options=self._adapter._attempt_opts) as s:
                    await _forward(s, output_emitter, self._adapter.sample_rate)
                pool.mark_ok(index)
                return
            except APIError as e:
                errors.append(f"{tts.label}: {e}")
                pool.mark_failed(index, _probe(tts, self._adapter._attempt_opts))
                if output_emitter.first_audio_at is not None:
                    raise
        raise APIConnectionError("all TTSs failed: " + "; ".join(errors), retryable=False)


class _FallbackStream(SynthesizeStream):
    def __init__(self, adapter: FallbackAdapter) -> None:
        super().__init__(tts=adapter, conn_options=APIConnectOptions(max_retry=0))
        self._adapter = adapter

    async def _run(self, output_emitter: AudioEmitter) -> None:
        output_emitter.initialize(
            request_id=shortuuid("req_"), sample_rate=self._adapter.sample_rate, num_channels=1
        )
        pool = self._adapter._pool
        errors = []
        consumed: list[str | object] = []
        for index, tts in pool.ordered():
            member = tts if tts.capabilities.streaming else StreamAdapter(tts=tts)
            child = member.stream(conn_options=self._adapter._attempt_opts)
            for item in consumed:
                if isinstance(item, str):
                    child.push_text(item)
                else:
                    child.flush()

            async def feed(child: SynthesizeStream = child) -> None:
                async for item in self._input_ch:
                    consumed.append(item)
                    if isinstance(item, str):
                        child.push_text(item)
                    else:
                        child.flush()
                child.end_input()

            if self._input_ch.closed and self._input_ch.qsize() == 0:
                child.end_input()
                feeder = None
            else:
                feeder = asyncio.create_task(feed())
            try:
                await _forward(child, output_emitter, self._adapter.sample_rate)
                pool.mark_ok(index)
                return
            except APIError as e:
                errors.append(f"{tts.label}: {e}")
                pool.mark_failed(index, _probe(tts, self._adapter._attempt_opts))
                if output_emitter.first_audio_at is not None:
                    raise
            finally:
                if feeder is not None:
                    feeder.cancel()
                    await asyncio.gather(feeder, return_exceptions=True)
                await child.aclose()
        raise APIConnectionError("all TTSs failed: " + "; ".join(errors), retryable=False)


def _probe(tts: TTS, opts: APIConnectOptions):  # type: ignore[no-untyped-def]
    async def probe() -> None:
        async with tts.synthesize("Hello.", conn_options=opts) as s:
            async for _ in s:
                pass

    return probe
