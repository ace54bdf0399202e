"""Background audio: ambient sound, a "thinking" sound and one-off sounds, on their own track.

```python
background_audio = BackgroundAudioPlayer(
    ambient_sound=AudioConfig(BuiltinAudioClip.OFFICE_AMBIENCE, volume=0.8),
    thinking_sound=AudioConfig(BuiltinAudioClip.KEYBOARD_TYPING, volume=0.8),
)
await background_audio.start(room=ctx.room, agent_session=session)
await background_audio.play("/path/to/chime.wav")
```

Sounds are mixed (summed, clipped to 16 bits) at 48 kHz mono and published as the track
``background_audio``, separate from the agent's voice. WAV files (integer PCM) are read
directly; other formats (MP3, Ogg, FLAC...) need PyAV (``livekit-agents[codecs]``). The
built-in clips are synthesized in code, not recordings.
"""

from __future__ import annotations

import asyncio
import math
import os
import random
from collections.abc import AsyncIterator, Callable, Generator
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias, Union

from ..log import logger

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    from livekit import rtc

    from ._background_mixer import Mixer
    from .agent_session import AgentSession
    from .events import AgentStateChangedEvent, CloseEvent

__all__ = ["AudioConfig", "AudioSource", "BackgroundAudioPlayer", "BuiltinAudioClip", "PlayHandle"]

TRACK_NAME = "background_audio"


class BuiltinAudioClip(str, Enum):
    """Clips that ship with the framework. They are synthesized (shaped noise, generated clicks
    and tones) on first use and cached in memory, not recordings of real places."""

    OFFICE_AMBIENCE = "office-ambience"
    CROWDED_ROOM = "crowded-room"
    CITY_AMBIENCE = "city-ambience"
    FOREST_AMBIENCE = "forest-ambience"
    KEYBOARD_TYPING = "keyboard-typing"
    KEYBOARD_TYPING2 = "keyboard-typing2"
    HOLD_MUSIC = "hold-music"

    def samples(self) -> npt.NDArray[np.int16]:
        """The clip as 48 kHz mono int16 samples (blocking: generated on first call)."""
        from ._background_clips import get_clip

        return get_clip(self.value)


#: What can be played: an audio file path, a built-in clip, or frames from an async iterator.
AudioSource: TypeAlias = Union[
    "AsyncIterator[rtc.AudioFrame]", str, "os.PathLike[str]", BuiltinAudioClip
]


@dataclass
class AudioConfig:
    """A sound with its volume (gain, 1.0 = unchanged) and, in a list, its chance to be picked."""

    source: AudioSource
    volume: float = 1.0
    probability: float = 1.0

    def __post_init__(self) -> None:
        if not isinstance(self.volume, (int, float)) or not math.isfinite(self.volume) \
                or self.volume < 0:
            raise ValueError(f"AudioConfig volume must be a number >= 0, got {self.volume!r}")
        if not isinstance(self.probability, (int, float)) or not 0 <= self.probability <= 1:
            raise ValueError(
                f"AudioConfig probability must be between 0 and 1, got {self.probability!r}"
            )


Sound: TypeAlias = Union[AudioSource, AudioConfig, "list[AudioConfig]"]


class PlayHandle:
    """A sound started by :meth:`BackgroundAudioPlayer.play`; ``await handle`` waits until it
    has played out (or was stopped)."""

    def __init__(self) -> None:
        self._done_fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._stop_cb: Callable[[], None] | None = None

    def done(self) -> bool:
        return self._done_fut.done()

    def stop(self) -> None:
        """Stop the sound (it fades out over 20 ms); does nothing once it is done."""
        if self.done():
            return
        if self._stop_cb is not None:
            self._stop_cb()
        else:
            self._mark_done()

    async def wait_for_playout(self) -> None:
        await asyncio.shield(self._done_fut)

    def __await__(self) -> Generator[Any, None, PlayHandle]:
        return self._wait().__await__()

    async def _wait(self) -> PlayHandle:
        await self.wait_for_playout()
        return self

    def _mark_done(self) -> None:
        if not self._done_fut.done():
            self._done_fut.set_result(None)


class BackgroundAudioPlayer:
    """Plays ambient and thinking sounds, and sounds on demand, mixed on their own audio track.

    ``ambient_sound`` loops from :meth:`start` until :meth:`aclose`; ``thinking_sound`` loops while
    the session's agent state is ``"thinking"``. A list of :class:`AudioConfig` picks one entry at
    random each time, weighted by ``probability`` (when they add up to less than 1, the remainder
    is the chance of silence). ``stream_timeout_ms`` is how long the mixer waits for a late sound
    (a slow async iterator) before mixing a frame without it (default 200 ms).
    """

    def __init__(
        self,
        *,
        ambient_sound: Sound | None = None,
        thinking_sound: Sound | None = None,
        stream_timeout_ms: int | None = None,
    ) -> None:
        if stream_timeout_ms is not None and stream_timeout_ms < 0:
            raise ValueError(f"stream_timeout_ms must be >= 0, got {stream_timeout_ms}")
        for sound in (ambient_sound, thinking_sound):
            if sound is not None:
                for cfg in _configs(sound):
                    _check_source(cfg.source)
        self._ambient_sound = ambient_sound
        self._thinking_sound = thinking_sound
        self._stream_timeout = None if stream_timeout_ms is None else stream_timeout_ms / 1000
        self._rng = random.Random()
        self._started = False
        self._mixer: Mixer | None = None
        self._session: AgentSession[Any] | None = None
        self._ambient_handle: PlayHandle | None = None
        self._thinking_handle: PlayHandle | None = None
        self._close_task: asyncio.Task[None] | None = None

    async def start(
        self,
        *,
        room: rtc.Room | Any,
        agent_session: AgentSession[Any] | None = None,
        track_publish_options: rtc.TrackPublishOptions | None = None,
    ) -> None:
        """Publish the ``background_audio`` track in ``room`` and start the ambient sound.

        With ``agent_session``, the thinking sound follows its agent state, and the player closes
        with the session. In console audio mode the sounds play through the speakers under the
        agent's voice; in console text and file modes they are mixed but not heard.
        """
        from ._background_mixer import ClockOutput, Mixer, Output, RoomOutput, SpeakerOutput

        if self._close_task is not None:
            raise RuntimeError("BackgroundAudioPlayer.start() called after aclose()")
        if self._started:
            raise RuntimeError("BackgroundAudioPlayer.start() was already called")
        self._started = True
        output: Output
        if _is_console(room, agent_session):
            sink = _console_speakers(agent_session)
            if sink is not None:
                output = SpeakerOutput(sink)
            else:
                logger.info("background audio is heard in console audio mode and in rooms, not in "
                            "text or file mode")
                output = ClockOutput()
        elif room is None:
            self._started = False
            raise ValueError("BackgroundAudioPlayer.start() needs the room to publish its track in")
        else:
            room_output = RoomOutput(room, TRACK_NAME, track_publish_options)
            try:
                await room_output.start()
            except BaseException:
                self._started = False  # publishing failed: start() may be retried
                raise
            output = room_output
        self._mixer = Mixer(output, underrun_wait=self._stream_timeout)
        self._mixer.start()

        if self._ambient_sound is not None:
            self._ambient_handle = self._play(self._ambient_sound, loop=True)
        if agent_session is not None:
            self._session = agent_session
            agent_session.on("agent_state_changed", self._on_agent_state)
            agent_session.on("close", self._on_session_close)
            if agent_session.agent_state == "thinking":
                self._start_thinking()

    def play(self, audio: Sound, *, loop: bool = False) -> PlayHandle:
        """Start playing ``audio`` now, mixed with whatever else plays; returns its handle.

        ``loop=True`` repeats a file or built-in clip until ``handle.stop()``; frames from an async
        iterator play once.
        """
        if self._close_task is not None:
            raise RuntimeError("BackgroundAudioPlayer.play() called after aclose()")
        if self._mixer is None:
            raise RuntimeError("BackgroundAudioPlayer.play() called before start()")
        for cfg in _configs(audio):
            _check_source(cfg.source)
            if loop and _is_iterator(cfg.source):
                raise ValueError("loop=True needs a file or a built-in clip: "
                                 "frames from an async iterator can play only once")
        return self._play(audio, loop=loop)

    async def aclose(self) -> None:
        """Stop every sound, unpublish the track and stop listening to the session (idempotent)."""
        if self._close_task is None:
            self._close_task = asyncio.ensure_future(self._close())
        await asyncio.shield(self._close_task)

    # -- internals --------------------------------------------------------------------------

    def _play(self, audio: Sound, *, loop: bool) -> PlayHandle:
        from ._background_mixer import Voice

        assert self._mixer is not None
        handle = PlayHandle()
        cfg = _choose(_configs(audio), self._rng)
        if cfg is None:  # the draw picked silence
            handle._mark_done()
            return handle
        voice = Voice(_chunks(cfg.source, loop=loop), cfg.volume, on_done=handle._mark_done)
        mixer = self._mixer
        handle._stop_cb = lambda: mixer.stop(voice)
        mixer.add(voice)
        return handle

    def _start_thinking(self) -> None:
        if self._thinking_sound is None or self._close_task is not None:
            return
        if self._thinking_handle is not None and not self._thinking_handle.done():
            return
        self._thinking_handle = self._play(self._thinking_sound, loop=True)

    def _on_agent_state(self, ev: AgentStateChangedEvent) -> None:
        if ev.new_state == "thinking":
            self._start_thinking()
        elif self._thinking_handle is not None:
            self._thinking_handle.stop()
            self._thinking_handle = None

    def _on_session_close(self, _ev: CloseEvent) -> None:
        if self._close_task is None:
            self._close_task = asyncio.ensure_future(self._close())

    async def _close(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            session.off("agent_state_changed", self._on_agent_state)
            session.off("close", self._on_session_close)
        mixer, self._mixer = self._mixer, None
        if mixer is not None:
            await mixer.aclose()


def _configs(sound: Sound) -> list[AudioConfig]:
    if isinstance(sound, AudioConfig):
        return [sound]
    if isinstance(sound, list):
        for item in sound:
            if not isinstance(item, AudioConfig):
                raise TypeError(f"a list of sounds must hold AudioConfig objects, got {item!r}")
        return sound
    return [AudioConfig(sound)]


def _choose(configs: list[AudioConfig], rng: random.Random) -> AudioConfig | None:
    """Pick one config weighted by probability; the shortfall of the total below 1 is silence."""
    total = sum(c.probability for c in configs)
    if total <= 0:
        return None
    point = rng.random() * max(total, 1.0)
    for cfg in configs:
        point -= cfg.probability
        if point < 0:
            return cfg
    return None


def _is_iterator(source: object) -> bool:
    return hasattr(source, "__anext__")


def _check_source(source: object) -> None:
    from ._background_mixer import check_audio_file

    if isinstance(source, BuiltinAudioClip) or _is_iterator(source):
        return
    if isinstance(source, (str, os.PathLike)):
        check_audio_file(source)
        return
    raise TypeError(
        "a background sound must be an audio file path, a BuiltinAudioClip, an async iterator of "
        f"rtc.AudioFrame or an AudioConfig, got {type(source).__name__}"
    )


def _chunks(source: AudioSource, *, loop: bool) -> AsyncIterator[npt.NDArray[np.int16]]:
    from ._background_mixer import clip_chunks, file_chunks, frame_chunks

    if isinstance(source, BuiltinAudioClip):
        return clip_chunks(source.value, loop=loop)
    if isinstance(source, (str, os.PathLike)):
        return file_chunks(Path(source), loop=loop)
    return frame_chunks(source)


def _console_speakers(session: AgentSession[Any] | None) -> Any:
    """The console's speaker output, when console mode plays audio through devices."""
    if session is None:
        return None
    from ..cli._console_io import console_io_for

    sink = getattr(console_io_for(session), "background_sink", None)
    return sink() if callable(sink) else None


def _is_console(room: Any, session: AgentSession[Any] | None) -> bool:
    if session is not None:
        from ..cli._console_io import console_io_for

        if console_io_for(session) is not None:
            return True
    local = getattr(room, "local_participant", None)
    return room is not None and not hasattr(local, "publish_track")
