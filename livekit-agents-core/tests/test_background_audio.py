"""BackgroundAudioPlayer: thinking/ambient sounds, play handles, mixing, random choice, errors."""

from __future__ import annotations

import asyncio
import logging
import random
import subprocess
import sys
import wave
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from livekit import rtc

from livekit.agents import Agent, AgentSession
from livekit.agents.testing import FakeLLM
from livekit.agents.utils.event_emitter import EventEmitter
from livekit.agents.voice import _background_clips as clips
from livekit.agents.voice import _background_mixer as mixer_mod
from livekit.agents.voice.background_audio import (
    AudioConfig,
    BackgroundAudioPlayer,
    BuiltinAudioClip,
    PlayHandle,
    _choose,
)
from livekit.agents.voice.events import AgentStateChangedEvent
from livekit.agents.worker._console_room import ConsoleRoom

RATE = mixer_mod.OUTPUT_RATE
FRAME = mixer_mod.FRAME_SAMPLES


class _RecordingOutput:
    """Collects mixed frames without real-time pacing; pauses after ``limit`` frames."""

    def __init__(self, limit: int = 1000) -> None:
        self.frames: list[np.ndarray] = []
        self.limit = limit
        self.closed = False
        self._changed = asyncio.Event()

    async def start(self) -> None:
        return None

    async def capture_frame(self, frame: rtc.AudioFrame) -> None:
        assert frame.sample_rate == RATE and frame.num_channels == 1
        assert frame.samples_per_channel == FRAME
        self.frames.append(np.frombuffer(frame.data, dtype=np.int16).copy())
        self._changed.set()
        while len(self.frames) >= self.limit and not self.closed:
            self._changed.clear()
            await self._changed.wait()
        await asyncio.sleep(0)

    async def wait_for(self, predicate: Any) -> None:
        while not predicate(self.frames):
            self._changed.clear()
            await asyncio.wait_for(self._changed.wait(), 10)

    async def aclose(self) -> None:
        self.closed = True
        self._changed.set()


class _FakeSession(EventEmitter[str]):
    def __init__(self) -> None:
        super().__init__()
        self.agent_state = "listening"

    def set_state(self, state: str) -> None:
        old, self.agent_state = self.agent_state, state
        self.emit("agent_state_changed", AgentStateChangedEvent(old_state=old, new_state=state))  # type: ignore[arg-type]


class _LocalParticipant:
    def __init__(self) -> None:
        self.published: list[Any] = []
        self.unpublished: list[str] = []

    async def publish_track(self, track: Any, options: Any) -> Any:
        self.published.append(track)
        return object()

    async def unpublish_track(self, sid: str) -> None:
        self.unpublished.append(sid)


class _Room(EventEmitter[str]):
    def __init__(self) -> None:
        super().__init__()
        self.local_participant = _LocalParticipant()


@pytest.fixture
def output(monkeypatch: pytest.MonkeyPatch) -> _RecordingOutput:
    rec = _RecordingOutput()
    monkeypatch.setattr(mixer_mod, "RoomOutput", lambda room, name, options: rec)
    monkeypatch.setattr(mixer_mod, "_UNDERRUN_WAIT", 10.0)  # a slow CI never splits a sound
    return rec


def _write_wav(path: Path, samples: np.ndarray, rate: int = RATE) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.astype(np.int16).tobytes())
    return path


async def _frames(value: int, count: int, rate: int = RATE) -> AsyncIterator[rtc.AudioFrame]:
    n = rate // 50
    for _ in range(count):
        yield rtc.AudioFrame(np.full(n, value, np.int16).tobytes(), rate, 1, n)


def _loud(frames: list[np.ndarray], value: int | None = None) -> list[np.ndarray]:
    if value is None:
        return [f for f in frames if np.any(f)]
    return [f for f in frames if np.any(f == value)]


# -- thinking and ambient --------------------------------------------------------------------


async def test_thinking_sound_plays_while_thinking(tmp_path: Path, output: _RecordingOutput) -> None:
    tick = _write_wav(tmp_path / "tick.wav", np.full(RATE // 10, 1234))
    session = _FakeSession()
    player = BackgroundAudioPlayer(thinking_sound=AudioConfig(str(tick), volume=1.0))
    await player.start(room=_Room(), agent_session=session)  # type: ignore[arg-type]
    assert player._thinking_handle is None

    session.set_state("thinking")
    handle = player._thinking_handle
    assert isinstance(handle, PlayHandle) and not handle.done()
    # 100 ms of sound loops: more than five frames of it means it kept playing
    await output.wait_for(lambda fs: len(_loud(fs, 1234)) >= 12)
    assert not handle.done()

    session.set_state("speaking")
    await asyncio.wait_for(handle, 10)
    assert handle.done() and player._thinking_handle is None
    assert player._mixer is not None and player._mixer.voices == []

    session.set_state("thinking")  # a new turn plays it again
    second = player._thinking_handle
    assert second is not None and second is not handle and not second.done()
    await player.aclose()
    assert second.done() and output.closed


async def test_thinking_sound_starts_if_session_is_already_thinking(output: _RecordingOutput) -> None:
    session = _FakeSession()
    session.agent_state = "thinking"
    player = BackgroundAudioPlayer(thinking_sound=BuiltinAudioClip.KEYBOARD_TYPING)
    await player.start(room=_Room(), agent_session=session)  # type: ignore[arg-type]
    assert player._thinking_handle is not None
    await output.wait_for(lambda fs: len(_loud(fs)) >= 3)
    await player.aclose()


async def test_ambient_loops_seamlessly(tmp_path: Path, output: _RecordingOutput) -> None:
    ramp = np.arange(1, 2401)  # 50 ms: 2.5 frames, so loops do not align with frames
    bed = _write_wav(tmp_path / "bed.wav", ramp)
    output.limit = 12
    player = BackgroundAudioPlayer(ambient_sound=AudioConfig(bed, volume=1.0))
    await player.start(room=_Room())
    await output.wait_for(lambda fs: len(fs) >= 12)
    played = np.concatenate(output.frames[:12])
    assert np.array_equal(played, np.tile(ramp, 5)[: played.size].astype(np.int16))
    ambient = player._ambient_handle
    assert ambient is not None and not ambient.done()
    await player.aclose()
    assert ambient.done()


async def test_ambient_volume_scales_samples(tmp_path: Path, output: _RecordingOutput) -> None:
    bed = _write_wav(tmp_path / "bed.wav", np.full(RATE // 10, 10000))
    output.limit = 3
    player = BackgroundAudioPlayer(ambient_sound=AudioConfig(bed, volume=0.25))
    await player.start(room=_Room())
    await output.wait_for(lambda fs: len(fs) >= 3)
    assert all(np.all(f == 2500) for f in output.frames[:3])
    await player.aclose()


# -- play() ----------------------------------------------------------------------------------


async def test_play_short_wav_completes(tmp_path: Path, output: _RecordingOutput) -> None:
    t = np.arange(2400) / 24000  # 100 ms at 24 kHz: resampled to 48 kHz
    chime = _write_wav(tmp_path / "chime.wav", 8000 * np.sin(2 * np.pi * 440 * t), rate=24000)
    player = BackgroundAudioPlayer()
    await player.start(room=_Room())
    handle = player.play(str(chime))
    result = await asyncio.wait_for(handle, 10)
    assert result is handle and handle.done()
    loud = _loud(output.frames)
    assert 4 <= len(loud) <= 7  # ~5 frames of 20 ms (the resampler adds a little delay)
    assert max(int(np.abs(f).max()) for f in loud) > 6000
    handle.stop()  # stopping a finished sound does nothing
    await player.aclose()


async def test_stop_ends_a_looping_sound(output: _RecordingOutput) -> None:
    player = BackgroundAudioPlayer()
    await player.start(room=_Room())
    handle = player.play(BuiltinAudioClip.HOLD_MUSIC, loop=True)
    await output.wait_for(lambda fs: len(_loud(fs)) >= 2)
    handle.stop()
    await asyncio.wait_for(handle.wait_for_playout(), 10)
    assert handle.done()
    await player.aclose()


async def test_two_sounds_are_summed_and_clipped(output: _RecordingOutput) -> None:
    player = BackgroundAudioPlayer()
    await player.start(room=_Room())
    a = player.play(_frames(1000, 3))
    b = player.play(AudioConfig(_frames(2000, 3), volume=0.5))
    await asyncio.wait_for(asyncio.gather(a.wait_for_playout(), b.wait_for_playout()), 10)
    assert len(output.frames) == 3
    assert all(np.all(f == 2000) for f in output.frames)

    c = player.play(_frames(30000, 2))
    d = player.play(_frames(-30000, 1, rate=16000))  # resampled, and only half as long
    e = player.play(_frames(25000, 2))
    await asyncio.wait_for(asyncio.gather(c, d, e), 10)
    mixed = output.frames[3:]
    assert len(mixed) == 2
    assert mixed[1].min() == 32767  # 30000 + 25000 clipped to int16
    assert mixed[0].min() < 32767  # the negative sound pulled the first frame down
    await player.aclose()


async def test_a_stalled_stream_does_not_stall_the_mix(output: _RecordingOutput) -> None:
    gate = asyncio.Event()

    async def live() -> AsyncIterator[rtc.AudioFrame]:
        yield rtc.AudioFrame(np.full(FRAME, 7, np.int16).tobytes(), RATE, 1, FRAME)
        await gate.wait()  # the network is slow
        yield rtc.AudioFrame(np.full(FRAME, 7, np.int16).tobytes(), RATE, 1, FRAME)

    steady = _frames(100, 10**6)  # in memory: never late, unlike a file read by a thread
    player = BackgroundAudioPlayer(ambient_sound=steady, stream_timeout_ms=0)
    await player.start(room=_Room())
    await output.wait_for(lambda fs: len(fs) >= 1)
    handle = player.play(live())
    await output.wait_for(lambda fs: len(_loud(fs, 107)) == 1 and np.all(fs[-1] == 100)
                          and len(fs) - next(i for i, f in enumerate(fs) if f[0] == 107) > 5)
    assert not handle.done()
    gate.set()
    await asyncio.wait_for(handle, 10)
    assert len(_loud(output.frames, 107)) == 2
    assert all(np.all((f == 100) | (f == 107)) for f in output.frames)
    await player.aclose()


async def test_random_choice_honours_probability() -> None:
    a, b = AudioConfig(BuiltinAudioClip.KEYBOARD_TYPING, probability=0.5), \
        AudioConfig(BuiltinAudioClip.KEYBOARD_TYPING2, probability=0.2)
    rng = random.Random(1234)
    picks = [_choose([a, b], rng) for _ in range(20000)]
    share = {k: sum(p is v for p in picks) / len(picks) for k, v in (("a", a), ("b", b), ("none", None))}
    assert abs(share["a"] - 0.5) < 0.02 and abs(share["b"] - 0.2) < 0.02
    assert abs(share["none"] - 0.3) < 0.02

    c = AudioConfig(BuiltinAudioClip.HOLD_MUSIC, probability=1.0)
    picks = [_choose([a, c], rng) for _ in range(20000)]  # above 1 in total: weights
    assert abs(sum(p is c for p in picks) / len(picks) - 2 / 3) < 0.02
    assert None not in picks
    assert _choose([AudioConfig(BuiltinAudioClip.HOLD_MUSIC, probability=0.0)], rng) is None


async def test_silent_draw_returns_a_finished_handle(output: _RecordingOutput) -> None:
    player = BackgroundAudioPlayer()
    await player.start(room=_Room())
    player._rng = random.Random(7)
    handle = player.play([AudioConfig(BuiltinAudioClip.HOLD_MUSIC, probability=0.0)])
    assert handle.done()
    assert await handle is handle
    await player.aclose()


# -- errors and lifecycle --------------------------------------------------------------------


async def test_errors(tmp_path: Path, output: _RecordingOutput) -> None:
    player = BackgroundAudioPlayer()
    with pytest.raises(RuntimeError, match=r"before start\(\)"):
        player.play(BuiltinAudioClip.HOLD_MUSIC)
    with pytest.raises(ValueError, match="volume must be a number >= 0"):
        AudioConfig(BuiltinAudioClip.HOLD_MUSIC, volume=-0.1)
    with pytest.raises(ValueError, match="probability"):
        AudioConfig(BuiltinAudioClip.HOLD_MUSIC, probability=1.5)
    missing = tmp_path / "missing.wav"
    with pytest.raises(FileNotFoundError, match="missing.wav"):
        BackgroundAudioPlayer(ambient_sound=str(missing))
    mp3 = tmp_path / "song.mp3"
    mp3.write_bytes(b"ID3\x04\x00\x00\x00\x00\x00\x00" + bytes(100))
    with pytest.raises(ValueError, match="cannot be decoded"):
        BackgroundAudioPlayer(thinking_sound=[AudioConfig(mp3)])
    with pytest.raises(TypeError, match="audio file path"):
        BackgroundAudioPlayer(ambient_sound=42)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="stream_timeout_ms"):
        BackgroundAudioPlayer(stream_timeout_ms=-1)

    await player.start(room=_Room())
    with pytest.raises(RuntimeError, match="already"):
        await player.start(room=_Room())
    with pytest.raises(FileNotFoundError, match="background audio file not found"):
        player.play(missing)
    with pytest.raises(ValueError, match="cannot be decoded"):
        player.play(str(mp3))
    with pytest.raises(ValueError, match="loop=True"):
        player.play(_frames(1, 1), loop=True)
    await player.aclose()
    await player.aclose()  # idempotent
    with pytest.raises(RuntimeError, match=r"after aclose\(\)"):
        player.play(BuiltinAudioClip.HOLD_MUSIC)


def _write_flac(path: Path, samples: np.ndarray, rate: int) -> Path:
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("flac", rate=rate, layout="mono")
        frame = av.AudioFrame.from_ndarray(samples.astype(np.int16).reshape(1, -1), format="s16",
                                           layout="mono")
        frame.sample_rate = rate
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


async def test_other_formats_play_through_pyav(tmp_path: Path) -> None:
    tone = (4000 * np.sin(2 * np.pi * 300 * np.arange(16000 // 4) / 16000)).astype(np.int16)
    flac = _write_flac(tmp_path / "chime.flac", tone, 16000)
    chunks = [c async for c in mixer_mod.file_chunks(flac, loop=False)]
    samples = np.concatenate(chunks)
    # 0.25 s at 16 kHz, resampled to 48 kHz mono: same length and level
    assert abs(samples.size - RATE // 4) <= RATE // 100
    assert 3500 < np.abs(samples).max() <= 4100

    room = _Room()
    player = BackgroundAudioPlayer()
    await player.start(room=room)
    handle = player.play(flac)
    assert await asyncio.wait_for(handle, 10) is handle
    await player.aclose()


def test_without_pyav_other_formats_name_the_extra(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    ogg = tmp_path / "song.ogg"
    ogg.write_bytes(b"OggS" + bytes(100))
    monkeypatch.setitem(sys.modules, "av", None)  # import av -> ImportError
    with pytest.raises(ValueError, match=r'pip install "livekit-agents\[codecs\]"'):
        BackgroundAudioPlayer(ambient_sound=str(ogg))


async def test_aclose_before_start_is_fine() -> None:
    player = BackgroundAudioPlayer()
    await player.aclose()
    with pytest.raises(RuntimeError):
        player.play(BuiltinAudioClip.HOLD_MUSIC)
    with pytest.raises(RuntimeError, match=r"after aclose\(\)"):
        await player.start(room=_Room())


async def test_failed_publish_can_be_retried() -> None:
    room = _Room()
    calls: list[Any] = []

    async def flaky(track: Any, options: Any) -> Any:
        calls.append(track)
        if len(calls) == 1:
            raise ConnectionError("not connected yet")
        return object()

    room.local_participant.publish_track = flaky  # type: ignore[method-assign]
    player = BackgroundAudioPlayer()
    with pytest.raises(ConnectionError):
        await player.start(room=room)
    with pytest.raises(ValueError, match="needs the room"):
        await player.start(room=None)
    await player.start(room=room)
    assert len(calls) == 2 and calls[1].name == "background_audio"
    await player.aclose()


async def test_failing_source_finishes_its_handle(output: _RecordingOutput,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    async def broken() -> AsyncIterator[rtc.AudioFrame]:
        yield rtc.AudioFrame(np.full(FRAME, 100, np.int16).tobytes(), RATE, 1, FRAME)
        raise OSError("stream lost")

    player = BackgroundAudioPlayer()
    await player.start(room=_Room())
    with caplog.at_level(logging.ERROR, logger="livekit.agents"):
        handle = player.play(broken())
        await asyncio.wait_for(handle, 10)
    assert "a sound failed to play" in caplog.text
    assert len(_loud(output.frames, 100)) == 1
    await player.aclose()


# -- with a real session and room track ------------------------------------------------------


async def test_session_drives_thinking_and_close_stops_player() -> None:
    room = _Room()
    session = AgentSession(llm=FakeLLM(["Hello there."]))
    await session.start(Agent(instructions="x"))
    player = BackgroundAudioPlayer(
        ambient_sound=AudioConfig(BuiltinAudioClip.OFFICE_AMBIENCE, volume=0.8),
        thinking_sound=[AudioConfig(BuiltinAudioClip.KEYBOARD_TYPING, volume=0.8),
                        AudioConfig(BuiltinAudioClip.KEYBOARD_TYPING2, volume=0.7)],
    )
    await player.start(room=room, agent_session=session)
    published = room.local_participant.published
    assert [t.name for t in published] == ["background_audio"]

    thinking: list[PlayHandle] = []
    session.on("agent_state_changed",
               lambda ev: thinking.append(player._thinking_handle) if ev.new_state == "thinking" else None)
    await session.run(user_input="hi")
    assert session.agent_state != "thinking"
    assert thinking and thinking[0] is not None
    await asyncio.wait_for(thinking[0], 10)

    ambient = player._ambient_handle
    assert ambient is not None and not ambient.done()
    await session.aclose()
    assert player._close_task is not None
    await asyncio.wait_for(player._close_task, 10)
    assert ambient.done() and player._mixer is None
    assert room.local_participant.unpublished == [published[0].sid]
    assert not [t for t in asyncio.all_tasks() if t.get_name().startswith("background_audio")]
    await player.aclose()


async def test_console_room_mixes_without_playing(tmp_path: Path,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    blip = _write_wav(tmp_path / "blip.wav", np.full(RATE // 50, 500))
    player = BackgroundAudioPlayer()
    with caplog.at_level(logging.INFO, logger="livekit.agents"):
        await player.start(room=ConsoleRoom())
    assert "heard in console audio mode and in rooms" in caplog.text
    handle = player.play(blip)
    await asyncio.wait_for(handle, 10)
    await player.aclose()


async def test_console_audio_mode_plays_through_the_speakers(tmp_path: Path) -> None:
    from livekit.agents.cli import _console_io
    from livekit.agents.cli._audio_devices import _SpeakerOutput

    speakers = _SpeakerOutput(asyncio.get_running_loop(), apm=None)

    class _Console:
        async def attach(self, session: AgentSession[Any]) -> None:
            pass

        def background_sink(self) -> Any:
            return speakers

    tone = (3000 * np.sin(2 * np.pi * 440 * np.arange(RATE // 5) / RATE)).astype(np.int16)
    _console_io.set_console_io(_Console())
    try:
        player = BackgroundAudioPlayer()
        await player.start(room=ConsoleRoom(), agent_session=AgentSession())
        await asyncio.wait_for(player.play(_write_wav(tmp_path / "tone.wav", tone)), 10)
        await player.aclose()
    finally:
        _console_io.set_console_io(None)

    # the speakers' device callback mixes it under the (here silent) agent voice, at 24 kHz
    block = bytearray(2 * 24000)  # 1 s: more than the player can have queued
    speakers.fill(block)
    heard = np.frombuffer(bytes(block), dtype=np.int16)
    assert 2000 < np.abs(heard).max() <= 3100
    # and under the agent's voice when both play: samples add up and clip at 16 bits
    speakers.mix_background(np.full(240, 30000, dtype=np.int16).tobytes())
    await speakers.capture_frame(rtc.AudioFrame(np.full(240, 10000, dtype=np.int16).tobytes(), 24000, 1, 240))
    block = bytearray(480)
    speakers.fill(block)
    assert set(np.frombuffer(bytes(block), dtype=np.int16)) == {32767}


# -- built-in clips --------------------------------------------------------------------------


def test_builtin_clips_are_deterministic_loops(monkeypatch: pytest.MonkeyPatch) -> None:
    assert sorted(clips.clip_names()) == sorted(c.value for c in BuiltinAudioClip)
    first = {c: c.samples() for c in BuiltinAudioClip}
    monkeypatch.setattr(clips, "_cache", {})
    for clip, samples in first.items():
        again = clip.samples()
        assert again is not samples and np.array_equal(again, samples), clip
        assert samples.dtype == np.int16 and samples.size >= 8 * clips.CLIP_RATE
        level = np.sqrt(np.mean((samples / 32768.0) ** 2))
        assert 0.005 < level < 0.2, clip  # audible but in the background
        # the loop point is no louder a jump than the clip's own sample-to-sample changes
        seam = abs(int(samples[-1]) - int(samples[0]))
        assert seam <= np.abs(np.diff(samples.astype(np.int32))).max(), clip
    with pytest.raises(ValueError, match="unknown built-in clip"):
        clips.get_clip("rain")


async def test_24_bit_stereo_wav_is_decoded(tmp_path: Path, output: _RecordingOutput) -> None:
    path = tmp_path / "stereo24.wav"
    sample = (0x123456).to_bytes(3, "little")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(3)
        w.setframerate(RATE)
        w.writeframes(sample * 2 * FRAME * 2)  # two 20 ms frames, both channels
    player = BackgroundAudioPlayer()
    await player.start(room=_Room())
    await asyncio.wait_for(player.play(path), 10)
    assert len(output.frames) == 2
    assert all(np.all(f == 0x1234) for f in output.frames)  # top 16 bits, channels averaged
    await player.aclose()


def test_import_stays_light() -> None:
    code = ("import sys, livekit.agents.voice.background_audio; "
            "print(sorted(m for m in ('numpy', 'livekit.rtc') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
