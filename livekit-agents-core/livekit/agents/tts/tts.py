"""The text-to-speech protocol: one-shot ``synthesize()`` and incremental ``stream()``.

A plugin subclasses :class:`TTS` and implements :meth:`TTS.synthesize` returning a
:class:`ChunkedStream` (and, when the provider accepts streamed text, :meth:`TTS.stream`
returning a :class:`SynthesizeStream`). Their ``_run(output_emitter)`` pushes raw PCM bytes to
the :class:`AudioEmitter`, which cuts them into frames; the base classes retry attempts that
failed before any audio, and report errors and metrics (time to first byte, characters,
audio seconds).
"""

from __future__ import annotations

import asyncio
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Literal, Union

from .._exceptions import APIConnectionError, APIError
from .._retry import RetryBudget
from ..log import logger
from ..metrics import TTSMetrics
from ..types import DEFAULT_API_CONNECT_OPTIONS, APIConnectOptions
from ..utils.aio import Chan, cancel_and_wait, next_or_raise
from ..utils.audio import AudioByteStream
from ..utils.event_emitter import EventEmitter
from ..utils.misc import shortuuid

if TYPE_CHECKING:
    from livekit import rtc

__all__ = [
    "TTS",
    "AudioEmitter",
    "ChunkedStream",
    "SynthesizeStream",
    "SynthesizedAudio",
    "TTSCapabilities",
    "TTSError",
]


@dataclass
class TTSCapabilities:
    streaming: bool
    aligned_transcript: bool = False


@dataclass
class SynthesizedAudio:
    frame: rtc.AudioFrame
    request_id: str
    is_final: bool = False
    segment_id: str = ""
    delta_text: str = ""


@dataclass
class TTSError:
    """Payload of a TTS's ``error`` event."""

    error: Exception
    recoverable: bool
    label: str = ""
    timestamp: float = field(default_factory=time.time)
    type: Literal["tts_error"] = "tts_error"


class TTS(EventEmitter[Literal["metrics_collected", "error"]], ABC):
    """Base class of text-to-speech providers. Emits ``metrics_collected`` and ``error``."""

    def __init__(
        self, *, capabilities: TTSCapabilities, sample_rate: int, num_channels: int = 1
    ) -> None:
        super().__init__()
        if sample_rate <= 0 or num_channels <= 0:
            raise ValueError("sample_rate and num_channels must be positive")
        self._capabilities = capabilities
        self._sample_rate = sample_rate
        self._num_channels = num_channels
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
    def capabilities(self) -> TTSCapabilities:
        return self._capabilities

    @property
    def sample_rate(self) -> int:
        return self._sample_rate

    @property
    def num_channels(self) -> int:
        return self._num_channels

    @abstractmethod
    def synthesize(
        self, text: str, *, conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS
    ) -> ChunkedStream:
        """Synthesize a complete text; iterate the result for audio."""

    def stream(
        self, *, conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS
    ) -> SynthesizeStream:
        raise NotImplementedError(
            f"{type(self).__name__} does not accept streamed text; wrap it with "
            f"livekit.agents.tts.StreamAdapter(tts=...) (the session does this for you)"
        )

    def prewarm(self) -> None:
        """Open connections ahead of the first request (optional)."""

    async def aclose(self) -> None:
        """Release connections and background tasks."""

    async def __aenter__(self) -> TTS:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model={self.model!r}, sample_rate={self._sample_rate})"


class AudioEmitter:
    """Where a plugin's ``_run`` puts audio: raw 16-bit PCM bytes in, frames out.

    Call :meth:`initialize` once (before pushing), :meth:`push` as bytes arrive, and
    :meth:`flush` at the end of a segment (a short trailing frame is emitted).
    """

    def __init__(self, out: Chan[SynthesizedAudio]) -> None:
        self._out = out
        self._bytestream: AudioByteStream | None = None
        self._request_id = ""
        self._segment_id = ""
        self._sample_rate = 0
        self._num_channels = 1
        self.pushed_duration = 0.0
        self.first_audio_at: float | None = None

    @property
    def initialized(self) -> bool:
        return self._bytestream is not None

    def initialize(
        self,
        *,
        request_id: str,
        sample_rate: int,
        num_channels: int,
        mime_type: str = "audio/pcm",
        frame_size_ms: int = 50,
        stream: bool = False,
    ) -> None:
        if mime_type not in ("audio/pcm", "audio/raw", "audio/l16"):
            raise ValueError(
                f"AudioEmitter takes raw 16-bit PCM (mime type 'audio/pcm'), got {mime_type!r}; "
                f"ask the provider for PCM, or decode before pushing"
            )
        self._request_id = request_id
        self._sample_rate = sample_rate
        self._num_channels = num_channels
        self._bytestream = AudioByteStream(
            sample_rate, num_channels, max(1, sample_rate * frame_size_ms // 1000)
        )

    def start_segment(self, *, segment_id: str) -> None:
        self._segment_id = segment_id

    def push(self, data: bytes | bytearray | memoryview) -> None:
        if self._bytestream is None:
            raise RuntimeError("AudioEmitter.initialize() must be called before push()")
        for frame in self._bytestream.write(data):
            self._send(frame)

    def flush(self) -> None:
        """Emit buffered audio and mark the end of the current segment."""
        if self._bytestream is None:
            return
        frames = self._bytestream.flush()
        for i, frame in enumerate(frames):
            self._send(frame, is_final=i == len(frames) - 1)

    end_segment = flush

    def _send(self, frame: rtc.AudioFrame, *, is_final: bool = False) -> None:
        if self.first_audio_at is None:
            self.first_audio_at = time.perf_counter()
        self.pushed_duration += frame.duration
        self._out.send_nowait(
            SynthesizedAudio(
                frame=frame,
                request_id=self._request_id,
                is_final=is_final,
                segment_id=self._segment_id,
            )
        )


class _AudioStreamBase(ABC):
    """Shared machinery of :class:`ChunkedStream` and :class:`SynthesizeStream`."""

    _streamed: bool

    def __init__(self, *, tts: TTS, conn_options: APIConnectOptions) -> None:
        self._tts = tts
        self._conn_options = conn_options
        self._out: Chan[SynthesizedAudio] = Chan()
        self._emitter = AudioEmitter(self._out)
        self._started_at = time.perf_counter()
        self._characters = 0
        self._task = asyncio.get_running_loop().create_task(
            self._main_task(), name=f"{type(self).__name__}._main_task"
        )

    @abstractmethod
    async def _run(self, output_emitter: AudioEmitter) -> None:
        """Talk to the provider and push audio to ``output_emitter``; raise APIError on failure."""

    def _prepare_retry(self) -> None:
        """Reset state before another attempt (streams replay their text)."""

    async def _main_task(self) -> None:
        budget = RetryBudget(self._conn_options)
        cancelled = False
        try:
            while True:
                try:
                    await self._run(self._emitter)
                    self._emitter.flush()
                    return
                except (APIError, asyncio.TimeoutError) as e:
                    err = e if isinstance(e, APIError) else APIConnectionError("TTS request timed out")
                    # once audio was played, a retry would repeat it: fail instead
                    delay = None if self._emitter.first_audio_at else budget.next_delay(err)
                    self._tts.emit(
                        "error",
                        TTSError(error=err, recoverable=delay is not None, label=self._tts.label),
                    )
                    if delay is None:
                        if err is e:
                            raise
                        raise err from e
                    logger.warning("%s failed, retrying in %.1fs: %s", self._tts.label, delay, err)
                    await asyncio.sleep(delay)
                    self._prepare_retry()
        except asyncio.CancelledError:
            cancelled = True
            raise
        finally:
            self._out.close()
            self._emit_metrics(cancelled=cancelled)

    def _emit_metrics(self, *, cancelled: bool) -> None:
        first = self._emitter.first_audio_at
        self._tts.emit(
            "metrics_collected",
            TTSMetrics(
                label=self._tts.label,
                request_id=self._emitter._request_id or shortuuid("req_"),
                ttfb=(first - self._started_at) if first else -1.0,
                duration=time.perf_counter() - self._started_at,
                audio_duration=self._emitter.pushed_duration,
                characters_count=self._characters,
                streamed=self._streamed,
                cancelled=cancelled,
                model=self._tts.model,
                provider=self._tts.provider,
            ),
        )

    def __aiter__(self) -> AsyncIterator[SynthesizedAudio]:
        return self

    async def __anext__(self) -> SynthesizedAudio:
        return await next_or_raise(self._out, self._task)

    async def aclose(self) -> None:
        await cancel_and_wait(self._task)

    async def collect(self) -> rtc.AudioFrame:
        """All the audio as one frame."""
        from ..utils.audio import merge_frames

        frames = [ev.frame async for ev in self]
        if not frames:
            raise APIError("the TTS returned no audio", retryable=False)
        return merge_frames(frames)


class ChunkedStream(_AudioStreamBase):
    """The audio of one complete text."""

    _streamed = False

    def __init__(self, *, tts: TTS, input_text: str, conn_options: APIConnectOptions) -> None:
        self._input_text = input_text
        super().__init__(tts=tts, conn_options=conn_options)
        self._characters = len(input_text)

    @property
    def input_text(self) -> str:
        return self._input_text

    async def __aenter__(self) -> ChunkedStream:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()


class _FlushSentinel:
    """Marks a segment boundary in the text input."""


class SynthesizeStream(_AudioStreamBase):
    """Audio for text that arrives piece by piece (``push_text``, ``flush``, ``end_input``)."""

    _streamed = True
    _FlushSentinel = _FlushSentinel

    def __init__(self, *, tts: TTS, conn_options: APIConnectOptions) -> None:
        self._input_ch: Chan[Union[str, _FlushSentinel]] = Chan()
        self._pushed: list[Union[str, _FlushSentinel]] = []
        self._input_ended = False
        super().__init__(tts=tts, conn_options=conn_options)

    def push_text(self, token: str) -> None:
        if self._input_ended:
            raise RuntimeError("cannot push text to a TTS stream whose input has ended")
        if not token:
            return
        self._characters += len(token)
        self._pushed.append(token)
        self._input_ch.send_nowait(token)

    def flush(self) -> None:
        """End the current segment: the provider synthesizes what it has buffered."""
        if self._input_ended:
            return
        sentinel = _FlushSentinel()
        self._pushed.append(sentinel)
        self._input_ch.send_nowait(sentinel)

    def end_input(self) -> None:
        if self._input_ended:
            return
        self.flush()
        self._input_ended = True
        self._input_ch.close()

    def _prepare_retry(self) -> None:
        # replay all text so far into a fresh input channel
        ch: Chan[Union[str, _FlushSentinel]] = Chan()
        for item in self._pushed:
            ch.send_nowait(item)
        if self._input_ended:
            ch.close()
        old = self._input_ch
        self._input_ch = ch
        old.close()

    async def aclose(self) -> None:
        """Abort: stop the stream without sending the provider the end of the input."""
        self._input_ended = True
        try:
            # cancel before closing the input, or the plugin would see a normal end of input
            # and could ask the provider to finish speaking
            await super().aclose()
        finally:
            self._input_ch.close()

    async def __aenter__(self) -> SynthesizeStream:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()
