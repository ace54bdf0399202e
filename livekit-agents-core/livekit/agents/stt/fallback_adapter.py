"""``FallbackAdapter`` for STT: switch provider when one fails, return when it recovers."""

from __future__ import annotations

import asyncio
import collections
from typing import TYPE_CHECKING

from .._exceptions import APIConnectionError, APIError
from .._fallback import AvailabilityChangedEvent, ProviderPool
from ..log import logger
from ..types import DEFAULT_API_CONNECT_OPTIONS, NOT_GIVEN, APIConnectOptions, NotGivenOr
from ..vad import VAD
from .stream_adapter import StreamAdapter
from .stt import STT, RecognizeStream, SpeechEvent, SpeechEventType, STTCapabilities

if TYPE_CHECKING:
    from livekit import rtc

    from ..utils.audio import AudioBuffer

__all__ = ["AvailabilityChangedEvent", "FallbackAdapter"]

#: audio kept since the last final transcript, replayed into the next provider on failover
_REPLAY_SECONDS = 10.0


class FallbackAdapter(STT):
    """Several STTs behind one. Batch-only members need ``vad`` to stream.

    Emits ``stt_availability_changed``. When a stream fails over, the audio heard since the last
    final transcript (up to 10 s) is replayed into the next provider, so the user's words are
    not lost.
    """

    def __init__(
        self,
        stt: list[STT],
        *,
        vad: VAD | None = None,
        attempt_timeout: float = 10.0,
        max_retry_per_stt: int = 1,
        retry_interval: float = 5.0,
    ) -> None:
        members = []
        for s in stt:
            if not s.capabilities.streaming:
                if vad is None:
                    raise ValueError(
                        f"{type(s).__name__} cannot stream: pass vad= to FallbackAdapter so it "
                        f"can be wrapped in a StreamAdapter"
                    )
                s = StreamAdapter(stt=s, vad=vad)
            members.append(s)
        super().__init__(
            capabilities=STTCapabilities(
                streaming=True, interim_results=all(s.capabilities.interim_results for s in members)
            )
        )
        self._pool: ProviderPool[STT] = ProviderPool(
            members, event_name="stt_availability_changed", emit=self.emit,
            retry_interval=retry_interval,
        )
        self._attempt_opts = APIConnectOptions(
            max_retry=max_retry_per_stt, timeout=attempt_timeout, retry_interval=retry_interval
        )
        for child in members:
            child.on("metrics_collected", lambda m: self.emit("metrics_collected", m))

    @property
    def stts(self) -> list[STT]:
        return list(self._pool.providers)

    @property
    def model(self) -> str:
        return "FallbackAdapter"

    @property
    def provider(self) -> str:
        return "livekit"

    async def _recognize_impl(
        self, buffer: AudioBuffer, *, language: NotGivenOr[str], conn_options: APIConnectOptions
    ) -> SpeechEvent:
        errors = []
        for index, stt in self._pool.ordered():
            try:
                event = await stt.recognize(buffer, language=language, conn_options=self._attempt_opts)
            except APIError as e:
                errors.append(f"{stt.label}: {e}")

                async def probe(stt: STT = stt) -> None:
                    await stt.recognize(buffer, language=language, conn_options=self._attempt_opts)

                self._pool.mark_failed(index, probe)
                continue
            self._pool.mark_ok(index)
            return event
        raise APIConnectionError("all STTs failed: " + "; ".join(errors), retryable=False)

    def stream(
        self,
        *,
        language: NotGivenOr[str] = NOT_GIVEN,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
    ) -> RecognizeStream:
        return _FallbackStream(self, language=language)

    async def aclose(self) -> None:
        await self._pool.aclose()


class _FallbackStream(RecognizeStream):
    def __init__(self, adapter: FallbackAdapter, *, language: NotGivenOr[str]) -> None:
        super().__init__(stt=adapter, conn_options=APIConnectOptions(max_retry=0))
        self._adapter = adapter
        self._language = language
        self._replay: collections.deque[rtc.AudioFrame] = collections.deque()
        self._replay_duration = 0.0

    def _remember(self, frame: rtc.AudioFrame) -> None:
        self._replay.append(frame)
        self._replay_duration += frame.duration
        while self._replay_duration > _REPLAY_SECONDS and len(self._replay) > 1:
            self._replay_duration -= self._replay.popleft().duration

    async def _run(self) -> None:
        pool = self._adapter._pool
        errors: list[str] = []
        input_done = asyncio.Event()
        for index, stt in pool.ordered():
            child = stt.stream(language=self._language, conn_options=self._adapter._attempt_opts)
            for frame in self._replay:
                child.push_frame(frame)

            async def forward(child: RecognizeStream = child) -> None:
                async for item in self._input_ch:
                    if isinstance(item, self._FlushSentinel):
                        child.flush()
                    else:
                        self._remember(item)
                        child.push_frame(item)
                input_done.set()
                child.end_input()

            if input_done.is_set():
                child.end_input()
                forward_task = None
            else:
                forward_task = asyncio.create_task(forward())
            try:
                async for ev in child:
                    if ev.type == SpeechEventType.FINAL_TRANSCRIPT:
                        self._replay.clear()
                        self._replay_duration = 0.0
                    self._event_ch.send_nowait(ev)
                pool.mark_ok(index)
                return
            except APIError as e:
                errors.append(f"{stt.label}: {e}")
                logger.warning("STT %s failed mid-stream, failing over: %s", stt.label, e)
                self._schedule_probe(index, stt)
            finally:
                if forward_task is not None:
                    forward_task.cancel()
                    await asyncio.gather(forward_task, return_exceptions=True)
                await child.aclose()
        raise APIConnectionError("all STTs failed: " + "; ".join(errors), retryable=False)

    def _schedule_probe(self, index: int, stt: STT) -> None:
        async def probe() -> None:
            from ..utils.audio import silence_frame

            child = stt.stream(language=self._language, conn_options=self._adapter._attempt_opts)
            try:
                child.push_frame(silence_frame(16000, 1, 0.5))
                child.end_input()
                async for _ in child:
                    pass
            finally:
                await child.aclose()

        self._adapter._pool.mark_failed(index, probe)
