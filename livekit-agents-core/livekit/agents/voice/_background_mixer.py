"""Mixing for :class:`BackgroundAudioPlayer`: sound decoders, the mixer and its outputs.

Every sound becomes 48 kHz mono int16 chunks produced by its own task (file reads and resampling
run in a worker thread); the mixer sums 20 ms of each playing sound, clips to int16 and hands the
frame to an output that paces it in real time.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import wave
from collections import deque
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ..log import logger

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    from livekit import rtc

    Samples = npt.NDArray[np.int16]

__all__ = ["FRAME_SAMPLES", "OUTPUT_RATE", "Mixer", "Output"]

OUTPUT_RATE = 48000
FRAME_SAMPLES = OUTPUT_RATE // 50  # 20 ms
_CHUNK = OUTPUT_RATE // 4  # producers hand over 250 ms at a time
_AHEAD = OUTPUT_RATE  # and keep at most ~1 s buffered per sound
_UNDERRUN_WAIT = 0.2  # how long the mixer waits for a late sound before mixing without it


class Output(Protocol):
    """Where mixed frames go; ``capture_frame`` returns when the frame may be followed by the next."""

    async def capture_frame(self, frame: rtc.AudioFrame) -> None: ...

    async def aclose(self) -> None: ...


# -- decoders --------------------------------------------------------------------------------


def check_audio_file(path: str | os.PathLike[str]) -> None:
    """Fail now, with a clear message, for a missing file or one this player cannot decode."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"background audio file not found: {p}")
    if _is_wav(p):
        _open_wav(p).close()
        return
    av = _import_av(p)
    try:
        with av.open(str(p)) as container:
            has_audio = bool(container.streams.audio)
    except Exception as e:  # PyAV's error classes differ between releases
        raise ValueError(f"{p}: the file cannot be decoded ({e})") from None
    if not has_audio:
        raise ValueError(f"{p}: the file has no audio stream")


def _is_wav(path: Path) -> bool:
    with path.open("rb") as f:
        head = f.read(12)
    return head[:4] == b"RIFF" and head[8:12] == b"WAVE"


def _import_av(path: Path) -> Any:
    """PyAV (FFmpeg), which decodes every format but WAV; an optional dependency."""
    try:
        import av
    except ImportError:
        raise ValueError(
            f"{path}: files other than WAV need PyAV: pip install \"livekit-agents[codecs]\" "
            f"(or convert it: `ffmpeg -i {path.name} -ac 1 -ar 48000 sound.wav`)"
        ) from None
    return av


def _open_wav(path: Path) -> wave.Wave_read:
    try:
        w = wave.open(str(path), "rb")  # noqa: SIM115 (closed by the caller)
    except (wave.Error, EOFError) as e:
        raise ValueError(
            f"{path}: unsupported WAV file ({e}); use 8/16/24/32-bit integer PCM"
        ) from None
    if w.getsampwidth() not in (1, 2, 3, 4):
        w.close()
        raise ValueError(f"{path}: unsupported WAV sample width ({w.getsampwidth()} bytes)")
    return w


def _pcm_to_int16(data: bytes, width: int) -> Samples:
    import numpy as np

    if width == 2:
        return np.frombuffer(data, dtype="<i2").astype(np.int16)
    if width == 1:  # unsigned 8-bit
        return ((np.frombuffer(data, dtype=np.uint8).astype(np.int16) - 128) << 8).astype(np.int16)
    if width == 3:
        b = np.frombuffer(data, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        value = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        value = np.where(value >= 1 << 23, value - (1 << 24), value)
        return (value >> 8).astype(np.int16)
    return (np.frombuffer(data, dtype="<i4") >> 16).astype(np.int16)


class _Resampled:
    """Converts frames of any rate and layout to 48 kHz mono samples (the core's converter)."""

    def __init__(self) -> None:
        from ..utils.audio import AudioConverter

        self._converter = AudioConverter(OUTPUT_RATE, 1)

    def push(self, frame: rtc.AudioFrame) -> Samples:
        return _join(self._converter.push(frame))

    def flush(self) -> Samples:
        return _join(self._converter.flush())


def _join(frames: list[rtc.AudioFrame]) -> Samples:
    import numpy as np

    if not frames:
        return np.zeros(0, dtype=np.int16)
    return np.concatenate([np.frombuffer(f.data, dtype=np.int16) for f in frames])


class _WavChunks:
    """Blocking reader of one pass over a WAV file (used from a worker thread)."""

    def __init__(self, path: Path) -> None:
        self._wav = _open_wav(path)
        self._rate = self._wav.getframerate()
        self._channels = self._wav.getnchannels()
        self._width = self._wav.getsampwidth()
        self._resampler = _Resampled()
        self._block = max(1, self._rate // 4)
        self._lock = threading.Lock()  # close() from the loop waits for a read in progress

    def read(self) -> Samples | None:
        """The next chunk at 48 kHz mono, or ``None`` at the end (the file is then closed)."""
        from livekit import rtc

        with self._lock:
            data = self._wav.readframes(self._block) if self._wav.getfp() is not None else b""
        if not data:
            self.close()
            tail = self._resampler.flush()
            return tail if tail.size else None
        pcm = _pcm_to_int16(data, self._width)
        count = pcm.size // self._channels
        frame = rtc.AudioFrame(pcm[: count * self._channels].tobytes(), self._rate,
                               self._channels, count)
        return self._resampler.push(frame)

    def close(self) -> None:
        with self._lock:
            self._wav.close()


class _DecodedChunks:
    """Blocking reader of one pass over any file FFmpeg decodes, through PyAV."""

    def __init__(self, path: Path) -> None:
        av = _import_av(path)
        self._container = av.open(str(path))
        self._frames = self._container.decode(self._container.streams.audio[0])
        self._resampler = av.AudioResampler(format="s16", layout="mono", rate=OUTPUT_RATE)
        self._lock = threading.Lock()
        self._closed = False

    def read(self) -> Samples | None:
        """The next chunk at 48 kHz mono, or ``None`` at the end (the file is then closed)."""
        import numpy as np

        with self._lock:
            if self._closed:
                return None
            frame = next(self._frames, None)
            out = self._resampler.resample(frame)  # None flushes the resampler
            if frame is None:
                self._close()
        samples = [f.to_ndarray().reshape(-1).astype(np.int16) for f in out]
        if not samples:
            return None if frame is None else np.zeros(0, dtype=np.int16)
        return np.concatenate(samples)

    def _close(self) -> None:
        if not self._closed:
            self._closed = True
            self._container.close()

    def close(self) -> None:
        with self._lock:
            self._close()


async def file_chunks(path: Path, *, loop: bool) -> AsyncIterator[Samples]:
    reader_type = _WavChunks if _is_wav(path) else _DecodedChunks
    while True:
        reader: _WavChunks | _DecodedChunks = await asyncio.to_thread(reader_type, path)
        produced = 0
        try:
            while (chunk := await asyncio.to_thread(reader.read)) is not None:
                produced += chunk.size
                if chunk.size:
                    yield chunk
        finally:
            reader.close()
        if not loop or produced == 0:
            return


async def clip_chunks(name: str, *, loop: bool) -> AsyncIterator[Samples]:
    from ._background_clips import get_clip

    clip = await asyncio.to_thread(get_clip, name)
    while True:
        for i in range(0, clip.size, _CHUNK):
            yield clip[i : i + _CHUNK]
        if not loop:
            return


async def frame_chunks(frames: AsyncIterator[rtc.AudioFrame]) -> AsyncIterator[Samples]:
    resampled = _Resampled()
    async for frame in frames:
        chunk = resampled.push(frame)
        if chunk.size:
            yield chunk
    tail = resampled.flush()
    if tail.size:
        yield tail


# -- mixer -----------------------------------------------------------------------------------


class Voice:
    """One sound playing in the mixer: its producer task, buffered samples and volume."""

    def __init__(self, chunks: AsyncIterator[Samples], volume: float,
                 on_done: Callable[[], None]) -> None:
        self.volume = volume
        self.on_done = on_done
        self.buffer: deque[Samples] = deque()
        self.buffered = 0
        self.started = False  # has produced audio
        self.finished = False  # producer ended
        self.stopping = False
        self.space = asyncio.Event()
        self._chunks = chunks
        self.task: asyncio.Task[None] | None = None

    def take(self, count: int) -> Samples:
        import numpy as np

        parts: list[Samples] = []
        need = count
        while need and self.buffer:
            head = self.buffer[0]
            if head.size <= need:
                parts.append(self.buffer.popleft())
                need -= head.size
            else:
                parts.append(head[:need])
                self.buffer[0] = head[need:]
                need = 0
        taken = count - need
        self.buffered -= taken
        if self.buffered < _AHEAD:
            self.space.set()
        if not parts:
            return np.zeros(0, dtype=np.int16)
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    @property
    def exhausted(self) -> bool:
        return self.finished and self.buffered == 0


class Mixer:
    """Sums the playing voices into 20 ms frames for one output; runs until :meth:`aclose`."""

    def __init__(self, output: Output, *, underrun_wait: float | None = None) -> None:
        self._output = output
        self._underrun_wait = underrun_wait
        self._voices: list[Voice] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    @property
    def voices(self) -> list[Voice]:
        return list(self._voices)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="background_audio_mixer")

    def add(self, voice: Voice) -> None:
        self._voices.append(voice)
        # the mixer wakes when the voice has audio: sounds started together start in one frame
        voice.task = asyncio.create_task(self._produce(voice), name="background_audio_source")

    def stop(self, voice: Voice) -> None:
        """Fade ``voice`` out over the next frame (or drop it at once if it has not started)."""
        if voice not in self._voices or voice.stopping:
            return
        voice.stopping = True
        if voice.task is not None:
            voice.task.cancel()
        if not voice.started:
            self._remove(voice)
        self._wake.set()

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        from ..utils.aio import cancel_and_wait

        voices, self._voices = self._voices, []
        await cancel_and_wait(self._task, *(v.task for v in voices))
        for v in voices:
            v.on_done()
        with contextlib.suppress(Exception):
            await self._output.aclose()

    def _remove(self, voice: Voice) -> None:
        if voice in self._voices:
            self._voices.remove(voice)
            voice.on_done()

    async def _produce(self, voice: Voice) -> None:
        try:
            async for chunk in voice._chunks:
                while voice.buffered >= _AHEAD:
                    voice.space.clear()
                    await voice.space.wait()
                voice.buffer.append(chunk)
                voice.buffered += chunk.size
                voice.started = True
                self._wake.set()
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("background audio: a sound failed to play")
        finally:
            voice.finished = True
            self._wake.set()
            aclose = getattr(voice._chunks, "aclose", None)
            if aclose is not None:
                with contextlib.suppress(Exception):
                    await aclose()

    def _audible(self) -> list[Voice]:
        for v in [v for v in self._voices if v.exhausted and not v.started]:
            self._remove(v)  # ended without producing anything (empty, or failed)
        return [v for v in self._voices if v.started]

    async def _wait_for_data(self, voices: list[Voice]) -> None:
        loop = asyncio.get_running_loop()
        wait = _UNDERRUN_WAIT if self._underrun_wait is None else self._underrun_wait
        deadline = loop.time() + wait
        while any(v.buffered < FRAME_SAMPLES and not v.finished and not v.stopping for v in voices):
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), remaining)
            except asyncio.TimeoutError:
                return

    async def _run(self) -> None:
        try:
            await self._mix()
        except Exception:
            logger.exception("background audio: mixing failed; sounds stop")
            voices, self._voices = self._voices, []
            for v in voices:
                if v.task is not None:
                    v.task.cancel()
                v.on_done()

    async def _mix(self) -> None:
        import numpy as np
        from livekit import rtc

        ramp = np.linspace(1.0, 0.0, FRAME_SAMPLES, dtype=np.float32)
        while True:
            voices = self._audible()
            if not voices:
                self._wake.clear()
                await self._wake.wait()
                continue
            await self._wait_for_data(voices)
            for v in voices:
                if v.buffered == 0 and (v.finished or v.stopping):
                    self._remove(v)  # nothing left to mix: no trailing silent frame
            voices = [v for v in voices if v in self._voices]
            if not voices:
                continue
            mix = np.zeros(FRAME_SAMPLES, dtype=np.float32)
            ended: list[Voice] = []
            for v in voices:
                chunk = v.take(FRAME_SAMPLES).astype(np.float32) * v.volume
                if v.stopping:
                    chunk *= ramp[: chunk.size]
                mix[: chunk.size] += chunk
                if v.stopping or v.exhausted:
                    ended.append(v)
            pcm = np.clip(mix, -32768, 32767).astype(np.int16)
            await self._output.capture_frame(
                rtc.AudioFrame(pcm.tobytes(), OUTPUT_RATE, 1, FRAME_SAMPLES)
            )
            for v in ended:
                self._remove(v)


# -- outputs ---------------------------------------------------------------------------------


class RoomOutput:
    """Publishes the mix as its own track; the source's short queue paces frames in real time."""

    def __init__(self, room: Any, track_name: str, publish_options: Any = None) -> None:
        self._room = room
        self._track_name = track_name
        self._publish_options = publish_options
        self._source: rtc.AudioSource | None = None
        self._track: rtc.LocalAudioTrack | None = None

    async def start(self) -> None:
        from livekit import rtc

        self._source = rtc.AudioSource(OUTPUT_RATE, 1, queue_size_ms=200)
        self._track = rtc.LocalAudioTrack.create_audio_track(self._track_name, self._source)
        options = self._publish_options or rtc.TrackPublishOptions()
        try:
            await self._room.local_participant.publish_track(self._track, options)
        except BaseException:
            await self._source.aclose()
            raise

    async def capture_frame(self, frame: rtc.AudioFrame) -> None:
        assert self._source is not None
        await self._source.capture_frame(frame)

    async def aclose(self) -> None:
        if self._track is not None:
            with contextlib.suppress(Exception):
                await self._room.local_participant.unpublish_track(self._track.sid)
        if self._source is not None:
            with contextlib.suppress(Exception):
                await self._source.aclose()


class ClockOutput:
    """Discards frames at real-time pace, so handles still finish when the sound would have."""

    def __init__(self) -> None:
        self._next: float | None = None

    async def capture_frame(self, frame: rtc.AudioFrame) -> None:
        now = asyncio.get_running_loop().time()
        self._next = max(self._next or now, now) + frame.samples_per_channel / frame.sample_rate
        delay = self._next - now - 0.1  # keep ~100 ms ahead, like a source queue
        if delay > 0:
            await asyncio.sleep(delay)

    async def aclose(self) -> None:
        return None


class SpeakerOutput(ClockOutput):
    """Console audio mode: frames also go to the speakers, mixed under the agent's voice."""

    def __init__(self, sink: Any, sample_rate: int = 24000) -> None:
        super().__init__()
        self._sink = sink
        self._rate = sample_rate
        self._converter: Any = None

    async def capture_frame(self, frame: rtc.AudioFrame) -> None:
        if self._converter is None:
            from ..utils.audio import AudioConverter

            self._converter = AudioConverter(self._rate, 1)
        for out in self._converter.push(frame):
            self._sink.mix_background(bytes(out.data))
        await super().capture_frame(frame)
