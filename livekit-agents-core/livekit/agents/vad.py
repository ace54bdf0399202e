"""The voice activity detection protocol.

A plugin subclasses :class:`VAD` and :class:`VADStream` and implements
``VADStream._main_task``, which reads frames from ``self._input_ch`` and sends
:class:`VADEvent` objects to ``self._event_ch``: ``START_OF_SPEECH`` and ``END_OF_SPEECH`` at
the edges of speech, and ``INFERENCE_DONE`` after every inference window.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from enum import Enum
from types import TracebackType
from typing import TYPE_CHECKING, Literal, Union

from .utils.aio import Chan, cancel_and_wait, next_or_raise
from .utils.event_emitter import EventEmitter

if TYPE_CHECKING:
    from livekit import rtc

__all__ = ["VAD", "SpeechSegmenter", "VADCapabilities", "VADEvent", "VADEventType", "VADStream"]


class VADEventType(str, Enum):
    START_OF_SPEECH = "start_of_speech"
    INFERENCE_DONE = "inference_done"
    END_OF_SPEECH = "end_of_speech"


@dataclass
class VADEvent:
    type: VADEventType
    #: index of the last sample covered by this event, counted from the start of the stream
    samples_index: int
    #: seconds of audio processed since the start of the stream
    timestamp: float
    #: length of the current (or just-ended) speech, in seconds
    speech_duration: float
    #: length of the silence since speech ended (or since the start), in seconds
    silence_duration: float
    #: START_OF_SPEECH: the audio of the speech so far (with prefix padding);
    #: END_OF_SPEECH: the whole utterance; INFERENCE_DONE: the frames just analysed
    frames: list[rtc.AudioFrame] = field(default_factory=list)
    probability: float = 0.0
    inference_duration: float = 0.0
    speaking: bool = False
    raw_accumulated_silence: float = 0.0
    raw_accumulated_speech: float = 0.0


@dataclass
class VADCapabilities:
    #: seconds between two INFERENCE_DONE events
    update_interval: float


class VAD(EventEmitter[Literal["metrics_collected"]], ABC):
    def __init__(self, *, capabilities: VADCapabilities) -> None:
        super().__init__()
        self._capabilities = capabilities
        self._label = f"{type(self).__module__}.{type(self).__name__}"

    @property
    def capabilities(self) -> VADCapabilities:
        return self._capabilities

    @property
    def label(self) -> str:
        return self._label

    @property
    def model(self) -> str:
        return "unknown"

    @property
    def provider(self) -> str:
        return "unknown"

    @abstractmethod
    def stream(self) -> VADStream:
        """Start analysing a new audio stream."""

    async def aclose(self) -> None:
        """Release shared resources (models are usually shared process-wide and kept)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class _FlushSentinel:
    pass


class VADStream(ABC):
    """Push frames in; iterate events out."""

    _FlushSentinel = _FlushSentinel

    def __init__(self, vad: VAD) -> None:
        self._vad = vad
        self._input_ch: Chan[Union[rtc.AudioFrame, _FlushSentinel]] = Chan()
        self._event_ch: Chan[VADEvent] = Chan()
        self._task = asyncio.get_running_loop().create_task(
            self._run_main(), name=f"{type(self).__name__}._main_task"
        )

    @abstractmethod
    async def _main_task(self) -> None:
        """Read ``self._input_ch``; send events to ``self._event_ch``."""

    async def _run_main(self) -> None:
        try:
            await self._main_task()
        finally:
            self._event_ch.close()

    def push_frame(self, frame: rtc.AudioFrame) -> None:
        if self._input_ch.closed:
            raise RuntimeError("cannot push audio to a VAD stream whose input has ended")
        self._input_ch.send_nowait(frame)

    def flush(self) -> None:
        """End the current segment (speech in progress ends)."""
        if not self._input_ch.closed:
            self._input_ch.send_nowait(_FlushSentinel())

    def end_input(self) -> None:
        """No more audio: the stream finishes processing what it has, then ends."""
        self.flush()
        self._input_ch.close()

    async def aclose(self) -> None:
        self._input_ch.close()
        await cancel_and_wait(self._task)

    def __aiter__(self) -> AsyncIterator[VADEvent]:
        return self

    async def __anext__(self) -> VADEvent:
        return await next_or_raise(self._event_ch, self._task)

    async def __aenter__(self) -> VADStream:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()


class SpeechSegmenter:
    """Turns per-window speech probabilities into VAD events (the common part of every VAD).

    A VAD plugin runs its model on each window of audio and passes the window and its
    probability to :meth:`push`; the segmenter applies the thresholds and durations and
    returns the events to send. Speech starts after ``min_speech_duration`` of windows at or
    above ``activation_threshold`` and ends after ``min_silence_duration`` below
    ``deactivation_threshold`` (hysteresis); START_OF_SPEECH carries ``prefix_padding_duration``
    of audio from before the start, END_OF_SPEECH the whole utterance.
    """

    def __init__(
        self,
        *,
        min_speech_duration: float = 0.05,
        min_silence_duration: float = 0.55,
        prefix_padding_duration: float = 0.5,
        activation_threshold: float = 0.5,
        deactivation_threshold: float | None = None,
        max_buffered_speech: float = 60.0,
    ) -> None:
        if not 0.0 < activation_threshold <= 1.0:
            raise ValueError("activation_threshold must be in (0, 1]")
        if min_speech_duration < 0 or min_silence_duration < 0 or prefix_padding_duration < 0:
            raise ValueError("durations must be >= 0")
        self.min_speech_duration = min_speech_duration
        self.min_silence_duration = min_silence_duration
        self.prefix_padding_duration = prefix_padding_duration
        self.activation_threshold = activation_threshold
        self.deactivation_threshold = (
            deactivation_threshold
            if deactivation_threshold is not None
            else max(activation_threshold - 0.15, 0.01)
        )
        self.max_buffered_speech = max_buffered_speech
        self._samples = 0
        self._time = 0.0
        self._speaking = False
        self._pending_speech = 0.0
        self._speech_duration = 0.0
        self._silence_run = 0.0
        self._silence_total = 0.0
        self._prefix: deque[rtc.AudioFrame] = deque()
        self._prefix_duration = 0.0
        self._utterance: list[rtc.AudioFrame] = []
        self._utterance_duration = 0.0

    @property
    def speaking(self) -> bool:
        return self._speaking

    def push(
        self, frame: rtc.AudioFrame, probability: float, *, inference_duration: float = 0.0
    ) -> list[VADEvent]:
        dur = frame.samples_per_channel / frame.sample_rate
        self._samples += frame.samples_per_channel
        self._time += dur
        threshold = self.deactivation_threshold if self._speaking else self.activation_threshold
        is_speech = probability >= threshold
        events: list[VADEvent] = []

        if self._speaking:
            self._add_utterance(frame, dur)
            self._speech_duration += dur
            if is_speech:
                self._silence_run = 0.0
            else:
                self._silence_run += dur
                if self._silence_run >= self.min_silence_duration:
                    events.append(self._end_event(probability, inference_duration))
        else:
            if is_speech:
                self._pending_speech += dur
            else:
                self._pending_speech = 0.0
                self._silence_total += dur
            self._add_prefix(frame, dur)
            if is_speech and self._pending_speech >= self.min_speech_duration:
                self._speaking = True
                self._speech_duration = self._pending_speech
                self._silence_run = 0.0
                self._utterance = list(self._prefix)
                self._utterance_duration = self._prefix_duration
                self._prefix.clear()
                self._prefix_duration = 0.0
                events.append(self._event(VADEventType.START_OF_SPEECH, probability,
                                          inference_duration, frames=list(self._utterance)))

        events.append(self._event(VADEventType.INFERENCE_DONE, probability, inference_duration, frames=[frame]))
        return events

    def flush(self) -> list[VADEvent]:
        """End speech in progress (if any) now."""
        if not self._speaking:
            self._pending_speech = 0.0
            return []
        return [self._end_event(0.0, 0.0)]

    def _end_event(self, probability: float, inference_duration: float) -> VADEvent:
        speech = max(0.0, self._speech_duration - self._silence_run)
        ev = VADEvent(
            type=VADEventType.END_OF_SPEECH,
            samples_index=self._samples,
            timestamp=self._time,
            speech_duration=speech,
            silence_duration=self._silence_run,
            frames=self._utterance,
            probability=probability,
            inference_duration=inference_duration,
            speaking=False,
        )
        self._speaking = False
        self._pending_speech = 0.0
        self._silence_total = self._silence_run
        self._speech_duration = 0.0
        self._silence_run = 0.0
        self._utterance = []
        self._utterance_duration = 0.0
        return ev

    def _event(
        self, kind: VADEventType, probability: float, inference_duration: float, *, frames: list[rtc.AudioFrame]
    ) -> VADEvent:
        return VADEvent(
            type=kind,
            samples_index=self._samples,
            timestamp=self._time,
            speech_duration=self._speech_duration if self._speaking else 0.0,
            silence_duration=self._silence_run if self._speaking else self._silence_total,
            frames=frames,
            probability=probability,
            inference_duration=inference_duration,
            speaking=self._speaking,
            raw_accumulated_silence=self._silence_run if self._speaking else self._silence_total,
            raw_accumulated_speech=self._speech_duration if self._speaking else self._pending_speech,
        )

    def _add_prefix(self, frame: rtc.AudioFrame, dur: float) -> None:
        self._prefix.append(frame)
        self._prefix_duration += dur
        keep = self.prefix_padding_duration + self._pending_speech
        while self._prefix and self._prefix_duration - self._prefix[0].duration >= keep:
            self._prefix_duration -= self._prefix.popleft().duration

    def _add_utterance(self, frame: rtc.AudioFrame, dur: float) -> None:
        if self._utterance_duration + dur <= self.max_buffered_speech:
            self._utterance.append(frame)
            self._utterance_duration += dur
