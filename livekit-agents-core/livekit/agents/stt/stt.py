"""The speech-to-text protocol: batch ``recognize()`` and streaming ``stream()``.

A plugin subclasses :class:`STT` and implements ``_recognize_impl`` (batch) and, when the
provider streams, :meth:`STT.stream` returning a :class:`RecognizeStream` whose ``_run`` reads
frames from ``self._input_ch`` and sends :class:`SpeechEvent` objects to ``self._event_ch``.
The base classes retry, resample input to the provider's rate, and report errors and metrics.
"""

from __future__ import annotations

import asyncio
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from enum import Enum
from types import TracebackType
from typing import TYPE_CHECKING, Literal, Union

from .._exceptions import APIConnectionError, APIError
from .._retry import RetryBudget
from ..log import logger
from ..metrics import STTMetrics
from ..types import DEFAULT_API_CONNECT_OPTIONS, NOT_GIVEN, APIConnectOptions, NotGivenOr
from ..utils.aio import Chan, cancel_and_wait, next_or_raise
from ..utils.audio import AudioBuffer, AudioConverter
from ..utils.event_emitter import EventEmitter
from ..utils.misc import shortuuid

if TYPE_CHECKING:
    from livekit import rtc

__all__ = [
    "STT",
    "RecognitionUsage",
    "RecognizeStream",
    "STTCapabilities",
    "STTError",
    "SpeechData",
    "SpeechEvent",
    "SpeechEventType",
    "SpeechStream",
]


class SpeechEventType(str, Enum):
    START_OF_SPEECH = "start_of_speech"
    INTERIM_TRANSCRIPT = "interim_transcript"
    #: a stable partial transcript, usable for preemptive generation
    PREFLIGHT_TRANSCRIPT = "preflight_transcript"
    FINAL_TRANSCRIPT = "final_transcript"
    RECOGNITION_USAGE = "recognition_usage"
    END_OF_SPEECH = "end_of_speech"


@dataclass
class SpeechData:
    language: str
    text: str
    start_time: float = 0.0
    end_time: float = 0.0
    confidence: float = 0.0
    speaker_id: str | None = None


@dataclass
class RecognitionUsage:
    audio_duration: float


@dataclass
class SpeechEvent:
    type: SpeechEventType
    request_id: str = ""
    alternatives: list[SpeechData] = field(default_factory=list)
    recognition_usage: RecognitionUsage | None = None


@dataclass
class STTCapabilities:
    streaming: bool
    interim_results: bool


@dataclass
class STTError:
    """Payload of an STT's ``error`` event."""

    error: Exception
    recoverable: bool
    label: str = ""
    timestamp: float = field(default_factory=time.time)
    type: Literal["stt_error"] = "stt_error"


class STT(EventEmitter[Literal["metrics_collected", "error"]], ABC):
    """Base class of speech-to-text providers. Emits ``metrics_collected`` and ``error``."""

    def __init__(self, *, capabilities: STTCapabilities) -> None:
        super().__init__()
        self._capabilities = capabilities
        self._label = f"{type(self).__module__}.{type(self).__name__}"

    @property
    def label(self) -> str:
        return self._label

    @property
    def model(self) -> str:
        return "unknown"

    @property
    def provider(self) -> str:
        return "unknown"

    @property
    def capabilities(self) -> STTCapabilities:
        return self._capabilities

    @abstractmethod
    async def _recognize_impl(
        self,
        buffer: AudioBuffer,
        *,
        language: NotGivenOr[str],
        conn_options: APIConnectOptions,
    ) -> SpeechEvent:
        """Transcribe one utterance; raise APIError on failure."""

    async def recognize(
        self,
        buffer: AudioBuffer,
        *,
        language: NotGivenOr[str] = NOT_GIVEN,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
    ) -> SpeechEvent:
        """Transcribe a complete utterance, retrying as ``conn_options`` allows."""
        from ..utils.audio import frames_duration

        frames = buffer if isinstance(buffer, list) else [buffer]
        budget = RetryBudget(conn_options)
        while True:
            started = time.perf_counter()
            try:
                event = await self._recognize_impl(
                    buffer, language=language, conn_options=conn_options
                )
            except (APIError, asyncio.TimeoutError) as e:
                err = e if isinstance(e, APIError) else APIConnectionError("STT request timed out")
                delay = budget.next_delay(err)
                self.emit(
                    "error", STTError(error=err, recoverable=delay is not None, label=self._label)
                )
                if delay is None:
                    if err is e:
                        raise
                    raise err from e
                logger.warning("%s failed, retrying in %.1fs: %s", self._label, delay, err)
                await asyncio.sleep(delay)
                continue
            self.emit(
                "metrics_collected",
                STTMetrics(
                    label=self._label,
                    request_id=event.request_id or shortuuid("req_"),
                    duration=time.perf_counter() - started,
                    audio_duration=frames_duration(frames),
                    streamed=False,
                    model=self.model,
                    provider=self.provider,
                ),
            )
            return event

    def stream(
        self,
        *,
        language: NotGivenOr[str] = NOT_GIVEN,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
    ) -> RecognizeStream:
        """Start a streaming recognition. Batch-only providers raise; wrap them in StreamAdapter."""
        raise NotImplementedError(
            f"{type(self).__name__} does not support streaming; wrap it with "
            f"livekit.agents.stt.StreamAdapter(stt=..., vad=...) (the session does this for you "
            f"when a VAD is configured)"
        )

    def prewarm(self) -> None:
        """Open connections ahead of the first request (optional)."""

    async def aclose(self) -> None:
        """Release connections and background tasks."""

    async def __aenter__(self) -> STT:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model={self.model!r})"


class _FlushSentinel:
    """Marks a flush point in the input: finalize what was heard so far."""


class _SpeechChan(Chan[SpeechEvent]):
    """The plugin-facing output channel; watches events for usage and healthy output."""

    def __init__(self, stream: RecognizeStream) -> None:
        super().__init__()
        self._stream = stream

    def send_nowait(self, item: SpeechEvent) -> None:
        self._stream._on_event(item)
        super().send_nowait(item)


class RecognizeStream(ABC):
    """A streaming recognition. Push frames; iterate :class:`SpeechEvent` objects."""

    _FlushSentinel = _FlushSentinel

    def __init__(
        self,
        *,
        stt: STT,
        conn_options: APIConnectOptions,
        sample_rate: NotGivenOr[int] = NOT_GIVEN,
    ) -> None:
        self._stt = stt
        self._conn_options = conn_options
        self._input_ch: Chan[Union[rtc.AudioFrame, _FlushSentinel]] = Chan()
        self._event_ch: Chan[SpeechEvent] = _SpeechChan(self)
        self._converter = AudioConverter(sample_rate, 1) if sample_rate else None
        self._budget = RetryBudget(conn_options)
        self._start_time = time.time()
        self._start_time_offset = 0.0
        self._task = asyncio.get_running_loop().create_task(
            self._main_task(), name=f"{type(self).__name__}._main_task"
        )

    @abstractmethod
    async def _run(self) -> None:
        """Stream audio from ``self._input_ch`` to the provider; send events to ``self._event_ch``.

        Return when the input channel is closed and every result was sent; raise APIError when
        the connection fails (the base class retries with the frames that arrive next).
        """

    @property
    def start_time_offset(self) -> float:
        return self._start_time_offset

    @start_time_offset.setter
    def start_time_offset(self, value: float) -> None:
        if value < 0:
            raise ValueError("start_time_offset must be >= 0")
        self._start_time_offset = value

    def _on_event(self, event: SpeechEvent) -> None:
        if event.type == SpeechEventType.FINAL_TRANSCRIPT:
            self._budget.mark_healthy()
        elif event.type == SpeechEventType.RECOGNITION_USAGE and event.recognition_usage:
            self._stt.emit(
                "metrics_collected",
                STTMetrics(
                    label=self._stt.label,
                    request_id=event.request_id,
                    duration=0.0,
                    audio_duration=event.recognition_usage.audio_duration,
                    streamed=True,
                    model=self._stt.model,
                    provider=self._stt.provider,
                ),
            )

    async def _main_task(self) -> None:
        try:
            while True:
                try:
                    await self._run()
                    return
                except (APIError, asyncio.TimeoutError) as e:
                    err = e if isinstance(e, APIError) else APIConnectionError("STT stream timed out")
                    delay = self._budget.next_delay(err)
                    self._stt.emit(
                        "error",
                        STTError(error=err, recoverable=delay is not None, label=self._stt.label),
                    )
                    if delay is None:
                        if err is e:
                            raise
                        raise err from e
                    logger.warning(
                        "%s stream failed, reconnecting in %.1fs: %s", self._stt.label, delay, err
                    )
                    await asyncio.sleep(delay)
        finally:
            self._event_ch.close()

    def push_frame(self, frame: rtc.AudioFrame) -> None:
        """Queue audio for recognition (converted to the provider's rate if needed)."""
        if self._input_ch.closed:
            raise RuntimeError("cannot push audio to an STT stream whose input has ended")
        if self._converter is None:
            self._input_ch.send_nowait(frame)
            return
        for f in self._converter.push(frame):
            self._input_ch.send_nowait(f)

    def flush(self) -> None:
        """Ask the provider to finalize what it heard so far."""
        if self._input_ch.closed:
            return
        if self._converter is not None:
            for f in self._converter.flush():
                self._input_ch.send_nowait(f)
        self._input_ch.send_nowait(_FlushSentinel())

    def end_input(self) -> None:
        """No more audio: results still arrive, then the stream ends."""
        self.flush()
        self._input_ch.close()

    async def aclose(self) -> None:
        """Abort: stop the stream without asking the provider to finalize."""
        try:
            # cancel before closing the input, or the plugin would see a normal end of input
            await cancel_and_wait(self._task)
        finally:
            self._input_ch.close()

    def __aiter__(self) -> AsyncIterator[SpeechEvent]:
        return self

    async def __anext__(self) -> SpeechEvent:
        return await next_or_raise(self._event_ch, self._task)

    async def __aenter__(self) -> RecognizeStream:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()


SpeechStream = RecognizeStream
