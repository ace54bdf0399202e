"""Audio helpers: frame buffers, byte-to-frame chunking, format conversion and WAV files.

All audio in the framework is 16-bit signed PCM in :class:`livekit.rtc.AudioFrame` objects,
interleaved by channel. :class:`AudioConverter` turns any rate/channel layout into any other,
so a provider at 24 kHz and an input at 48 kHz just work.
"""

from __future__ import annotations

import wave
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias, Union

if TYPE_CHECKING:
    from livekit import rtc

__all__ = [
    "AudioBuffer",
    "AudioByteStream",
    "AudioConverter",
    "calculate_rms",
    "frames_duration",
    "merge_frames",
    "read_wav",
    "silence_frame",
    "write_wav",
]

AudioBuffer: TypeAlias = Union[list["rtc.AudioFrame"], "rtc.AudioFrame"]


def merge_frames(buffer: AudioBuffer) -> rtc.AudioFrame:
    """Concatenate frames of identical format into one frame."""
    from livekit import rtc

    if isinstance(buffer, rtc.AudioFrame):
        return buffer
    frames = list(buffer)
    if not frames:
        raise ValueError("cannot merge an empty list of audio frames")
    rate, channels = frames[0].sample_rate, frames[0].num_channels
    for f in frames:
        if f.sample_rate != rate or f.num_channels != channels:
            raise ValueError(
                f"cannot merge frames of different formats: {rate} Hz/{channels} ch and "
                f"{f.sample_rate} Hz/{f.num_channels} ch"
            )
    data = b"".join(bytes(f.data) for f in frames)
    samples = sum(f.samples_per_channel for f in frames)
    return rtc.AudioFrame(data, rate, channels, samples)


def frames_duration(frames: Iterable[rtc.AudioFrame]) -> float:
    return sum(f.samples_per_channel / f.sample_rate for f in frames)


def silence_frame(sample_rate: int, num_channels: int, duration: float) -> rtc.AudioFrame:
    from livekit import rtc

    samples = int(sample_rate * duration)
    return rtc.AudioFrame(bytes(samples * num_channels * 2), sample_rate, num_channels, samples)


def calculate_rms(frame: rtc.AudioFrame) -> float:
    """Root mean square of a frame, in [0, 1]."""
    import numpy as np

    samples = np.frombuffer(frame.data, dtype=np.int16)
    if samples.size == 0:
        return 0.0
    return float(np.sqrt(np.mean(np.square(samples.astype(np.float32) / 32768.0))))


class AudioByteStream:
    """Cut a stream of PCM bytes into frames of a fixed number of samples."""

    def __init__(
        self, sample_rate: int, num_channels: int, samples_per_channel: int | None = None
    ) -> None:
        if sample_rate <= 0 or num_channels <= 0:
            raise ValueError("sample_rate and num_channels must be positive")
        self._rate = sample_rate
        self._channels = num_channels
        self._samples = samples_per_channel or sample_rate // 10  # 100 ms by default
        self._bytes_per_frame = self._samples * num_channels * 2
        self._buf = bytearray()

    def write(self, data: bytes | bytearray | memoryview) -> list[rtc.AudioFrame]:
        from livekit import rtc

        self._buf.extend(data)
        frames: list[rtc.AudioFrame] = []
        n = self._bytes_per_frame
        while len(self._buf) >= n:
            chunk = bytes(self._buf[:n])
            del self._buf[:n]
            frames.append(rtc.AudioFrame(chunk, self._rate, self._channels, self._samples))
        return frames

    push = write

    def flush(self) -> list[rtc.AudioFrame]:
        """Return what is buffered as a final, shorter frame (odd trailing bytes are dropped)."""
        from livekit import rtc

        usable = len(self._buf) - len(self._buf) % (2 * self._channels)
        if usable <= 0:
            self._buf.clear()
            return []
        chunk = bytes(self._buf[:usable])
        self._buf.clear()
        samples = usable // (2 * self._channels)
        return [rtc.AudioFrame(chunk, self._rate, self._channels, samples)]


class AudioConverter:
    """Convert frames to one sample rate and channel count; keeps resampler state across frames.

    Input frames may change format mid-stream (a new resampler is created when they do).
    """

    def __init__(self, sample_rate: int, num_channels: int = 1) -> None:
        if sample_rate <= 0 or num_channels <= 0:
            raise ValueError("sample_rate and num_channels must be positive")
        self.sample_rate = sample_rate
        self.num_channels = num_channels
        self._resampler: rtc.AudioResampler | None = None
        self._input_rate: int | None = None

    def push(self, frame: rtc.AudioFrame) -> list[rtc.AudioFrame]:
        frame = _convert_channels(frame, self.num_channels)
        out: list[rtc.AudioFrame] = []
        if frame.sample_rate != self._input_rate:
            out.extend(self.flush())
            self._input_rate = frame.sample_rate
            if frame.sample_rate != self.sample_rate:
                from livekit import rtc

                self._resampler = rtc.AudioResampler(
                    frame.sample_rate,
                    self.sample_rate,
                    num_channels=self.num_channels,
                    quality=rtc.AudioResamplerQuality.MEDIUM,
                )
        if self._resampler is None:
            out.append(frame)
        else:
            out.extend(self._resampler.push(frame))
        return out

    def flush(self) -> list[rtc.AudioFrame]:
        if self._resampler is None:
            return []
        frames = list(self._resampler.flush())
        self._resampler = None
        self._input_rate = None
        return frames


def _convert_channels(frame: rtc.AudioFrame, channels: int) -> rtc.AudioFrame:
    if frame.num_channels == channels:
        return frame
    import numpy as np
    from livekit import rtc

    data = np.frombuffer(frame.data, dtype=np.int16).reshape(-1, frame.num_channels)
    if channels == 1:
        mixed = data.astype(np.int32).mean(axis=1).astype(np.int16)
    elif frame.num_channels == 1:
        mixed = np.repeat(data, channels, axis=1)
    else:
        mono = data.astype(np.int32).mean(axis=1).astype(np.int16)
        mixed = np.repeat(mono[:, None], channels, axis=1)
    return rtc.AudioFrame(
        mixed.tobytes(), frame.sample_rate, channels, frame.samples_per_channel
    )


def read_wav(path: str | Path, *, frame_ms: int = 20) -> tuple[int, int, list[rtc.AudioFrame]]:
    """Read a 16-bit PCM WAV file into frames of ``frame_ms``; returns (rate, channels, frames)."""
    path = Path(path)
    try:
        with wave.open(str(path), "rb") as w:
            if w.getsampwidth() != 2:
                raise ValueError(
                    f"{path}: only 16-bit PCM WAV files are supported "
                    f"(this one has {8 * w.getsampwidth()}-bit samples)"
                )
            if w.getcomptype() != "NONE":
                raise ValueError(f"{path}: compressed WAV ({w.getcompname()}) is not supported")
            rate, channels = w.getframerate(), w.getnchannels()
            pcm = w.readframes(w.getnframes())
    except wave.Error as e:
        raise ValueError(f"{path}: not a readable WAV file ({e})") from None
    stream = AudioByteStream(rate, channels, max(1, rate * frame_ms // 1000))
    frames = stream.write(pcm) + stream.flush()
    return rate, channels, frames


def write_wav(path: str | Path, frames: Iterable[rtc.AudioFrame]) -> float:
    """Write frames of one format to a WAV file; returns the duration written, in seconds."""
    frames = list(frames)
    rate = frames[0].sample_rate if frames else 24000
    channels = frames[0].num_channels if frames else 1
    total = 0
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        for f in _same_format(frames, rate, channels):
            w.writeframes(bytes(f.data))
            total += f.samples_per_channel
    return total / rate


def _same_format(
    frames: list[rtc.AudioFrame], rate: int, channels: int
) -> Iterator[rtc.AudioFrame]:
    converter = AudioConverter(rate, channels)
    for f in frames:
        yield from converter.push(f)
    yield from converter.flush()
