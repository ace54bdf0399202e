"""Streaming sample-rate conversion of mono int16 audio for the model input (numpy only).

A polyphase windowed-sinc filter for a rational ratio ``out/in = up/down``: every output
sample is a weighted sum of the input samples around its position, with weights precomputed
for each of the ``up`` fractional positions. The filter is linear-phase and centred on the
output position, so the output is not delayed (it needs a few samples of look-ahead). The
outputs of one phase read the input at a fixed stride, so for ratios with few phases (48 -> 16
kHz has one, 24 -> 16 and 8 -> 16 kHz two) a block of outputs is one product of a strided view
of the input with the weights per phase; ratios with many phases (44.1 -> 16 kHz has 160)
gather the inputs of each output instead.

The low-pass cut-off sits just under the lower of the two Nyquist frequencies: at 48 -> 16 kHz
the passband is flat to 6.5 kHz (-1.3 dB at 7 kHz, -14 dB at 7.5 kHz) and what lies above
8.2 kHz, which would fold back into the band, is attenuated by 65 dB or more.
"""

from __future__ import annotations

import math

import numpy as np

#: largest number of filter phases; rarer ratios (e.g. 7999 Hz input) are rejected
MAX_PHASES = 1024
#: ratios with at most this many phases are filtered phase by phase (strided views, no copy)
_PHASE_LOOP = 16
#: half the filter span, in samples of the lower of the two rates
_HALF_SPAN = 24
#: centre of the transition band, as a fraction of the lower Nyquist frequency
_CUTOFF = 0.91
#: Kaiser window shape (about 60 dB of stop-band attenuation)
_BETA = 6.0


def ratio(in_rate: int, out_rate: int) -> tuple[int, int]:
    """``(up, down)``: the conversion ratio in lowest terms."""
    g = math.gcd(in_rate, out_rate)
    return out_rate // g, in_rate // g


def supported(in_rate: int, out_rate: int) -> bool:
    """Whether :class:`Resampler` handles this pair (the ratio has at most MAX_PHASES phases)."""
    return in_rate > 0 and out_rate > 0 and ratio(in_rate, out_rate)[0] <= MAX_PHASES


def lookahead(in_rate: int, out_rate: int) -> int:
    """Input samples an output sample waits for after its own position."""
    up, down = ratio(in_rate, out_rate)
    return math.ceil(_HALF_SPAN / min(1.0, up / down))


class Resampler:
    """Converts one mono int16 stream from ``in_rate`` to ``out_rate`` (float32 in [-1, 1]).

    :meth:`write` adds input; :meth:`take` computes the next output samples, as many as
    asked for (at most :meth:`ready`: an output waits for the input around it); :meth:`flush`
    returns the rest, as if the input were followed by silence. The input is kept as int16
    and filtered as is (the 1/32768 scale is in the weights): a window of output is a couple
    of numpy calls.
    """

    def __init__(self, in_rate: int, out_rate: int) -> None:
        if in_rate <= 0 or out_rate <= 0:
            raise ValueError(f"sample rates must be positive, got {in_rate} -> {out_rate}")
        up, down = ratio(in_rate, out_rate)
        if up > MAX_PHASES:
            raise ValueError(
                f"cannot resample {in_rate} Hz to {out_rate} Hz: the ratio {up}/{down} needs "
                f"{up} filter phases (at most {MAX_PHASES})"
            )
        self.in_rate, self.out_rate = in_rate, out_rate
        self._up, self._down = up, down
        scale = min(1.0, up / down)  # lower Nyquist frequency / input Nyquist frequency
        #: taps on each side of an output position, in input samples
        self._half = lookahead(in_rate, out_rate)
        self._weights = _filter_bank(up, self._half, 0.5 * scale * _CUTOFF) / np.float32(32768)
        self._offsets = np.arange(2 * self._half)
        self._reset()

    def _reset(self) -> None:
        # int16 input kept, from stream index self._start on (negative: leading silence)
        self._start = 1 - self._half
        self._buf = bytearray(2 * (self._half - 1))
        self._received = 0  # input samples written
        self._produced = 0  # output samples returned

    def ready(self, more: int = 0) -> int:
        """Output samples available once ``more`` further input samples are written."""
        usable = self._received + more - self._half  # inputs that have their look-ahead
        if usable <= 0:
            return 0
        return max(0, -(-usable * self._up // self._down) - self._produced)

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Add mono int16 input."""
        self._buf += data
        self._received += len(data) // 2

    def take(self, count: int) -> np.ndarray:
        """The next ``count`` output samples (at most :meth:`ready`)."""
        if count > self.ready():
            raise ValueError(f"{count} output samples asked for, {self.ready()} ready")
        return self._run(count)

    def flush(self) -> np.ndarray:
        """The remaining output, as if the input were followed by silence; then starts over."""
        total = -(-self._received * self._up // self._down)
        self._buf += bytes(4 * self._half)
        out = self._run(total - self._produced)
        self._reset()
        return out

    def _run(self, count: int) -> np.ndarray:
        if count <= 0:
            return np.zeros(0, dtype=np.float32)
        up, down, half, first = self._up, self._down, self._half, self._produced
        taps = 2 * half
        buf = self._buf
        if up <= _PHASE_LOOP:
            # outputs first + r, first + r + up, ... share a phase, and each reads the input
            # ``down`` samples after the previous one: a strided view times one weight row
            out: np.ndarray = np.empty(count, dtype=np.float32)
            for r in range(min(up, count)):
                pos = (first + r) * down
                lo = pos // up - half + 1 - self._start
                rows = np.ndarray(
                    ((count - r + up - 1) // up, taps),
                    dtype=np.int16,
                    buffer=buf,
                    offset=2 * lo,
                    strides=(2 * down, 2),
                )
                out[r::up] = np.einsum("ij,j->i", rows, self._weights[pos % up], dtype=np.float32)
                del rows  # views of the buffer go before it shrinks
        else:
            positions = np.arange(first, first + count) * down
            index = (positions // up - half + 1 - self._start)[:, None] + self._offsets
            inputs = np.frombuffer(buf, dtype=np.int16)
            out = np.einsum(
                "ij,ij->i", inputs[index], self._weights[positions % up], dtype=np.float32
            )
            del inputs
        self._produced += count
        # drop the input no later output reads
        keep_from = (self._produced * down) // up - half + 1
        if keep_from > self._start:
            del buf[: 2 * (keep_from - self._start)]
            self._start = keep_from
        return out


def _filter_bank(up: int, half: int, cutoff: float) -> np.ndarray:
    """Weights ``[phase, tap]``: tap ``t`` of phase ``p`` multiplies the input sample at
    distance ``p / up + half - 1 - t`` before the output position; ``cutoff`` is in cycles
    per input sample. Each phase sums to 1 (unit gain at 0 Hz)."""
    t = (np.arange(up)[:, None] / up) + (half - 1 - np.arange(2 * half))[None, :]
    x = t / half
    window = np.i0(_BETA * np.sqrt(np.clip(1.0 - x * x, 0.0, None))) / np.i0(_BETA)
    weights = 2 * cutoff * np.sinc(2 * cutoff * t) * window
    weights /= weights.sum(axis=1, keepdims=True)
    return weights.astype(np.float32)
