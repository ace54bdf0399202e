"""Session inputs and outputs: where user audio comes from and where agent audio/text goes.

Console, rooms, files and tests each provide these. An :class:`AudioOutput` counts segments
(audio between two ``flush()`` calls) and reports, for each, when playback started and how
much was played before it finished or was interrupted; the session uses that to record only
what the user actually heard.
"""

from __future__ import annotations

import asyncio
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from ..utils.aio import Chan, ChanClosed
from ..utils.event_emitter import EventEmitter

if TYPE_CHECKING:
    from livekit import rtc

__all__ = [
    "AudioInput",
    "AudioOutput",
    "PlaybackFinishedEvent",
    "PlaybackStartedEvent",
    "QueueAudioInput",
    "SimulatedAudioOutput",
    "TextOutput",
]


@dataclass
class PlaybackStartedEvent:
    created_at: float


@dataclass
class PlaybackFinishedEvent:
    #: seconds of the segment that were played
    playback_position: float
    interrupted: bool


class AudioInput(ABC):
    """An async iterator of the user's audio frames."""

    label: str = "audio-input"

    @abstractmethod
    def __aiter__(self) -> AsyncIterator[rtc.AudioFrame]: ...

    def on_attached(self) -> None:
        """Called when the session starts reading this input."""

    def on_detached(self) -> None:
        """Called when the session stops reading this input."""


class QueueAudioInput(AudioInput):
    """Audio pushed by code (a file reader, a socket, a test)."""

    label = "queue"

    def __init__(self) -> None:
        self._ch: Chan[rtc.AudioFrame] = Chan()

    def push_frame(self, frame: rtc.AudioFrame) -> None:
        self._ch.send_nowait(frame)

    def close(self) -> None:
        self._ch.close()

    async def __anext__(self) -> rtc.AudioFrame:
        try:
            return await self._ch.recv()
        except ChanClosed:
            raise StopAsyncIteration from None

    def __aiter__(self) -> AsyncIterator[rtc.AudioFrame]:
        return self


class AudioOutput(EventEmitter[Literal["playback_started", "playback_finished"]], ABC):
    """Where agent audio goes. Subclasses implement capture, ``clear_buffer`` and positions.

    Subclasses call :meth:`on_playback_started` when the first frame of a segment is played and
    :meth:`on_playback_finished` exactly once per segment.
    """

    def __init__(self, *, label: str, sample_rate: int | None = None, can_pause: bool = False) -> None:
        super().__init__()
        self.label = label
        self._sample_rate = sample_rate
        self._can_pause = can_pause
        self._capturing = False
        self._segments = 0
        self._finished = 0
        self._last_finished = PlaybackFinishedEvent(playback_position=0.0, interrupted=False)
        self._finished_ev = asyncio.Event()

    @property
    def sample_rate(self) -> int | None:
        """Rate the output wants (audio is resampled to it), or None for any rate."""
        return self._sample_rate

    @property
    def can_pause(self) -> bool:
        return self._can_pause

    async def capture_frame(self, frame: rtc.AudioFrame) -> None:
        """Queue a frame for playback (subclasses call this first)."""
        if not self._capturing:
            self._capturing = True
            self._segments += 1

    def flush(self) -> None:
        """The current segment is complete (subclasses call this first)."""
        self._capturing = False

    @abstractmethod
    def clear_buffer(self) -> None:
        """Stop playing now and drop what is queued (an interruption)."""

    @property
    def playback_position(self) -> float:
        """Seconds of the current segment played so far."""
        return 0.0

    def pause(self) -> None:
        raise NotImplementedError(f"{type(self).__name__} cannot pause")

    def resume(self) -> None:
        raise NotImplementedError(f"{type(self).__name__} cannot pause")

    def on_playback_started(self, *, created_at: float) -> None:
        self.emit("playback_started", PlaybackStartedEvent(created_at=created_at))

    def on_playback_finished(self, *, playback_position: float, interrupted: bool) -> None:
        if self._finished >= self._segments:
            return  # a stray call (nothing was playing)
        self._finished += 1
        self._capturing = False
        self._last_finished = PlaybackFinishedEvent(
            playback_position=playback_position, interrupted=interrupted
        )
        self._finished_ev.set()
        self.emit("playback_finished", self._last_finished)

    async def wait_for_playout(self) -> PlaybackFinishedEvent:
        """Wait until every segment captured so far has finished playing."""
        target = self._segments
        while self._finished < target:
            self._finished_ev.clear()
            await self._finished_ev.wait()
        return self._last_finished


class SimulatedAudioOutput(AudioOutput):
    """Plays audio against a clock instead of a device (files, headless runs, tests).

    Playback runs at ``speed`` times real time; pause, resume and interruption behave like a
    real player. ``on_played`` receives the frames of each segment, cut to what was played.
    """

    def __init__(
        self,
        *,
        sample_rate: int | None = None,
        speed: float = 1.0,
        label: str = "simulated",
        on_played: object = None,
    ) -> None:
        super().__init__(label=label, sample_rate=sample_rate, can_pause=True)
        if speed <= 0:
            raise ValueError("speed must be positive")
        self._speed = speed
        self._on_played = on_played
        self._playing = False
        self._flushed = False
        self._pushed = 0.0
        self._start = 0.0
        self._paused_at: float | None = None
        self._paused_total = 0.0
        self._frames: list[rtc.AudioFrame] = []
        self._finish_handle: asyncio.TimerHandle | None = None

    def _clock(self) -> float:
        return time.monotonic()

    @property
    def playback_position(self) -> float:
        if not self._playing:
            return 0.0
        now = self._paused_at if self._paused_at is not None else self._clock()
        return max(0.0, min(self._pushed, (now - self._start - self._paused_total) * self._speed))

    async def capture_frame(self, frame: rtc.AudioFrame) -> None:
        await super().capture_frame(frame)
        now = self._clock()
        if not self._playing:
            self._playing = True
            self._flushed = False
            self._pushed = 0.0
            self._frames = []
            self._start = now
            self._paused_total = 0.0
            self._paused_at = None
            self.on_playback_started(created_at=time.time())
        elif self._paused_at is None and self.playback_position >= self._pushed:
            # the player ran dry (audio arrived slower than real time): it resumes from here
            self._start = now - self._pushed / self._speed - self._paused_total
        self._pushed += frame.duration
        self._frames.append(frame)

    def flush(self) -> None:
        super().flush()
        if self._playing:
            self._flushed = True
            self._schedule_finish()

    def _schedule_finish(self) -> None:
        if self._finish_handle is not None:
            self._finish_handle.cancel()
        if self._paused_at is not None:
            return
        remaining = (self._pushed - self.playback_position) / self._speed
        self._finish_handle = asyncio.get_running_loop().call_later(
            max(0.0, remaining), self._finish, False
        )

    def clear_buffer(self) -> None:
        if self._playing:
            self._finish(True)

    def pause(self) -> None:
        if self._playing and self._paused_at is None:
            self._paused_at = self._clock()
            if self._finish_handle is not None:
                self._finish_handle.cancel()
                self._finish_handle = None

    def resume(self) -> None:
        if self._paused_at is not None:
            self._paused_total += self._clock() - self._paused_at
            self._paused_at = None
            if self._flushed:
                self._schedule_finish()

    def _finish(self, interrupted: bool) -> None:
        position = self.playback_position
        if self._finish_handle is not None:
            self._finish_handle.cancel()
            self._finish_handle = None
        self._playing = False
        self._paused_at = None
        frames, self._frames = self._frames, []
        if callable(self._on_played):
            self._on_played(_cut(frames, position))
        self.on_playback_finished(playback_position=position, interrupted=interrupted)


def _cut(frames: list[rtc.AudioFrame], seconds: float) -> list[rtc.AudioFrame]:
    """The first ``seconds`` of ``frames``."""
    from livekit import rtc

    out: list[rtc.AudioFrame] = []
    left = seconds
    for f in frames:
        if left <= 0:
            break
        if f.duration <= left + 1e-9:
            out.append(f)
            left -= f.duration
            continue
        samples = int(left * f.sample_rate)
        if samples > 0:
            nbytes = samples * f.num_channels * 2
            out.append(rtc.AudioFrame(bytes(f.data.cast("B")[:nbytes]), f.sample_rate, f.num_channels, samples))
        break
    return out


class TextOutput(ABC):
    """Where the agent's transcript goes (console, room transcription stream, tests)."""

    label: str = "text-output"

    @abstractmethod
    async def capture_text(self, text: str) -> None:
        """Append text to the current segment."""

    @abstractmethod
    def flush(self) -> None:
        """The current segment is complete."""
