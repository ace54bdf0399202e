"""The plugin's numpy resampler: gain, timing, anti-aliasing, streaming, bad rates."""

from __future__ import annotations

import numpy as np
import pytest

from livekit.plugins.silero._resample import MAX_PHASES, Resampler, ratio, supported

PAIRS = [(48000, 16000), (32000, 16000), (24000, 16000), (44100, 16000), (8000, 16000),
         (16000, 8000), (48000, 8000), (22050, 16000)]


def convert(x: np.ndarray, in_rate: int, out_rate: int, *, chunk: int = 0, seed: int = 0) -> np.ndarray:
    """All of ``x`` (int16) through a Resampler, written in chunks of random sizes up to
    ``chunk`` and taken in random amounts."""
    r = Resampler(in_rate, out_rate)
    rng = np.random.default_rng(seed)
    out, i = [], 0
    while i < len(x):
        n = int(rng.integers(1, chunk + 1)) if chunk else len(x)
        r.write(x[i : i + n].tobytes())
        i += n
        ready = r.ready()
        out.append(r.take(int(rng.integers(0, ready + 1)) if chunk else ready))
    out.append(r.flush())
    return np.concatenate(out)


def tone(freq: float, rate: int, seconds: float = 1.0) -> np.ndarray:
    """Half of full scale, int16."""
    t = np.arange(int(rate * seconds)) / rate
    return np.round(16384 * np.sin(2 * np.pi * freq * t)).astype(np.int16)


def middle(y: np.ndarray) -> np.ndarray:
    return y[len(y) // 4 : 3 * len(y) // 4]


@pytest.mark.parametrize(("in_rate", "out_rate"), PAIRS)
def test_tones_in_the_passband_keep_their_shape_and_timing(in_rate: int, out_rate: int) -> None:
    for freq in (200.0, 1000.0, 0.35 * min(in_rate, out_rate)):
        y = convert(tone(freq, in_rate), in_rate, out_rate)
        assert len(y) == out_rate  # one second in, one second out
        # the same tone at the new rate, not delayed (the filter is centred)
        expected = tone(freq, out_rate) / 32768
        assert np.max(np.abs(middle(y) - middle(expected))) < 1e-3


@pytest.mark.parametrize(("in_rate", "out_rate"), [p for p in PAIRS if p[0] > p[1]])
def test_content_above_the_new_nyquist_is_removed(in_rate: int, out_rate: int) -> None:
    nyquist = out_rate / 2
    for freq in (1.1 * nyquist, 1.5 * nyquist):
        if freq >= in_rate / 2:
            continue
        y = convert(tone(freq, in_rate), in_rate, out_rate)
        level = 20 * np.log10(np.sqrt(2) * np.std(middle(y)) / 0.5)  # against the input
        assert level < -55, f"{freq:.0f} Hz folds back at {level:.1f} dB"


@pytest.mark.parametrize(("in_rate", "out_rate"), PAIRS)
def test_chunk_sizes_do_not_change_the_output(in_rate: int, out_rate: int) -> None:
    x = (np.random.default_rng(1).standard_normal(in_rate // 2) * 3000).astype(np.int16)
    whole = convert(x, in_rate, out_rate)
    for chunk in (1, 7, 480, 5000):
        assert np.allclose(convert(x, in_rate, out_rate, chunk=chunk, seed=chunk), whole, atol=1e-5)


def test_ready_counts_what_take_can_give() -> None:
    r = Resampler(44100, 16000)
    x = (np.random.default_rng(2).standard_normal(10000) * 3000).astype(np.int16)
    for i in range(0, len(x), 441):
        expected = r.ready(len(x[i : i + 441]))
        r.write(x[i : i + 441].tobytes())
        assert r.ready() == expected
        with pytest.raises(ValueError, match="ready"):
            r.take(expected + 1)
        assert len(r.take(expected)) == expected


def test_bad_rates_fail_clearly() -> None:
    assert ratio(48000, 16000) == (1, 3)
    assert supported(44100, 16000) and not supported(0, 16000)
    with pytest.raises(ValueError, match="positive"):
        Resampler(0, 16000)
    with pytest.raises(ValueError, match="positive"):
        Resampler(16000, -8000)
    assert not supported(7999, 16000)  # 16000/7999: more phases than the table holds
    with pytest.raises(ValueError, match=f"at most {MAX_PHASES}"):
        Resampler(7999, 16000)
