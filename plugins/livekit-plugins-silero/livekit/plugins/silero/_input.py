"""From pushed frames to model windows, split between the event loop and the model thread.

On the event loop, :class:`WindowCounter` only collects the frames' bytes and counts, with
integer arithmetic, how many 32 ms windows they complete; no numpy runs there (except in
core's ``AudioConverter``, used for odd rates the plugin's resampler has no table for). The
bytes go
to the inference thread with the count, where :class:`ModelInput` converts them (int16 to
float, channels to mono, rate to the model rate) and cuts the windows. Both sides apply the
same rules, so the windows the thread cuts are the ones the loop counted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from livekit import rtc

from livekit.agents.utils.audio import AudioConverter

from ._resample import Resampler, lookahead, ratio
from ._resample import supported as resample_supported


def window_samples(sample_rate: int) -> int:
    """Samples the model reads per inference: 32 ms (512 at 16 kHz, 256 at 8 kHz)."""
    return 512 if sample_rate == 16000 else 256


def context_samples(sample_rate: int) -> int:
    """Samples of the previous window the model sees before each window."""
    return 64 if sample_rate == 16000 else 32


@dataclass
class Chunk:
    """Consecutive int16 audio of one format, as pushed (or from core's converter)."""

    sample_rate: int
    channels: int
    data: bytearray


class WindowCounter:
    """Event-loop side: collects pushed audio and counts the windows it completes."""

    def __init__(self, model_rate: int) -> None:
        self._model_rate = model_rate
        self._window = window_samples(model_rate)
        self._format = (0, 0)  # (rate, channels) of the pushed frames
        self._chunks: list[Chunk] = []
        self._emitted = 0  # windows counted so far
        self._done = 0  # model samples from earlier formats
        self._received = 0  # samples per channel of the current format (after the converter)
        self._geometry: tuple[int, int, int] | None = None  # (up, down, look-ahead) if resampled
        self._converter: AudioConverter | None = None

    def push(self, frame: rtc.AudioFrame, data: memoryview) -> int:
        """Add a frame (``data``: its bytes); returns the number of windows it completes."""
        if (frame.sample_rate, frame.num_channels) != self._format:
            self._set_format(frame.sample_rate, frame.num_channels)
        if self._converter is not None:
            for converted in self._converter.push(frame):
                self._add(converted.data.cast("B"), self._model_rate, 1)
        else:
            self._add(data, frame.sample_rate, frame.num_channels)
        if self._geometry is None:
            produced = self._received
        else:
            up, down, half = self._geometry
            produced = max(0, -(-(self._received - half) * up // down))
        windows = (self._done + produced) // self._window - self._emitted
        self._emitted += windows
        return windows

    def take(self) -> list[Chunk]:
        """The audio collected since the last call."""
        chunks, self._chunks = self._chunks, []
        return chunks

    def _add(self, data: memoryview, rate: int, channels: int) -> None:
        chunks = self._chunks
        if not chunks or chunks[-1].sample_rate != rate or chunks[-1].channels != channels:
            chunks.append(Chunk(rate, channels, bytearray()))
        chunks[-1].data += data
        self._received += len(data) // (2 * channels)

    def _set_format(self, rate: int, channels: int) -> None:
        # what the thread's ModelInput produces for the previous format, flush included
        if self._converter is not None:
            for converted in self._converter.flush():
                self._add(converted.data.cast("B"), self._model_rate, 1)
        if self._geometry is not None:
            up, down, _ = self._geometry
            self._done += -(-self._received * up // down)
        else:
            self._done += self._received
        self._format = (rate, channels)
        self._received = 0
        self._geometry = None
        self._converter = None
        if rate == self._model_rate:
            pass
        elif resample_supported(rate, self._model_rate):
            up, down = ratio(rate, self._model_rate)
            self._geometry = (up, down, lookahead(rate, self._model_rate))
        else:  # an odd ratio the numpy resampler has no table for: core's converter
            self._converter = AudioConverter(self._model_rate, 1)


class ModelInput:
    """Model-thread side: chunks in, windows out (context + window, float32 in [-1, 1])."""

    def __init__(self, model_rate: int) -> None:
        self._model_rate = model_rate
        self._window = window_samples(model_rate)
        self._n_context = context_samples(model_rate)
        #: the context and the converted samples not yet in a window
        self._audio = np.zeros(self._n_context, dtype=np.float32)
        self._source: tuple[int, int] | None = None  # (rate, channels) being converted
        self._resampler: Resampler | None = None
        #: mono int16 at the model rate, not converted yet (when no resampling is needed)
        self._raw = bytearray()

    def feed(self, chunks: list[Chunk], count: int) -> list[np.ndarray]:
        """Add ``chunks``; returns the next ``count`` windows (they must be complete)."""
        for chunk in chunks:
            source = (chunk.sample_rate, chunk.channels)
            if source != self._source:
                self._end_source()
                self._source = source
                if chunk.sample_rate != self._model_rate:
                    self._resampler = Resampler(chunk.sample_rate, self._model_rate)
            data = chunk.data if chunk.channels == 1 else _mix(chunk.data, chunk.channels)
            if self._resampler is not None:
                self._resampler.write(data)
            else:
                self._raw += data
        window, span = self._window, self._window + self._n_context
        needed = count * window - (len(self._audio) - self._n_context)
        buf = self._audio
        if needed > 0:
            if self._resampler is not None:
                buf = np.concatenate((buf, self._resampler.take(needed)))
            else:
                buf = self._append_raw(needed)
        # windows are views of ``buf``, which is never written to
        windows = [buf[i * window : i * window + span] for i in range(count)]
        self._audio = buf[count * window :]
        return windows

    def _append_raw(self, count: int) -> np.ndarray:
        if 2 * count > len(self._raw):
            raise ValueError(f"{count} samples asked for, {len(self._raw) // 2} received")
        samples = np.frombuffer(self._raw, dtype=np.int16, count=count)
        buf = np.empty(len(self._audio) + count, dtype=np.float32)
        buf[: len(self._audio)] = self._audio
        np.multiply(samples, 1.0 / 32768.0, out=buf[len(self._audio) :], casting="unsafe")
        del samples  # the view goes before the buffer shrinks
        del self._raw[: 2 * count]
        return buf

    def _end_source(self) -> None:
        """The rest of the previous format's audio joins the samples waiting for a window."""
        if self._resampler is not None:
            self._audio = np.concatenate((self._audio, self._resampler.flush()))
            self._resampler = None
        if self._raw:
            self._audio = self._append_raw(len(self._raw) // 2)


def _mix(data: bytearray, channels: int) -> bytes:
    """Interleaved int16 to mono int16 (the mean of the channels)."""
    samples = np.frombuffer(data, dtype=np.int16).reshape(-1, channels)
    mono: bytes = samples.mean(axis=1, dtype=np.float32).astype(np.int16).tobytes()
    return mono
