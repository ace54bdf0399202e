"""Synthesized built-in clips for :class:`BackgroundAudioPlayer`.

No recordings ship with the framework: each clip is generated from a fixed seed the first time
it is used (a fraction of a second of numpy work, run off the event loop by the caller) and kept
in memory. Noise beds are shaped in the frequency domain, so they are periodic and loop with no
seam; events near the end of a clip wrap around to its start for the same reason.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Floats = npt.NDArray[np.float64]

__all__ = ["CLIP_RATE", "clip_names", "get_clip"]

CLIP_RATE = 48000

_cache: dict[str, npt.NDArray[np.int16]] = {}
_lock = threading.Lock()


def clip_names() -> list[str]:
    return list(_SYNTHS)


def get_clip(name: str) -> npt.NDArray[np.int16]:
    """The clip ``name`` as 48 kHz mono int16 samples (generated once, then cached)."""
    with _lock:
        clip = _cache.get(name)
        if clip is None:
            try:
                synth = _SYNTHS[name]
            except KeyError:
                raise ValueError(f"unknown built-in clip {name!r}; known: {', '.join(_SYNTHS)}")
            clip = _to_int16(synth())
            clip.setflags(write=False)
            _cache[name] = clip
        return clip


# -- building blocks -------------------------------------------------------------------------


def _rng(seed: int) -> np.random.Generator:
    import numpy as np

    return np.random.default_rng(seed)


def _shaped_noise(
    rng: np.random.Generator, n: int, gain: Callable[[Floats], Floats]
) -> Floats:
    """White noise filtered by ``gain(frequency_hz)`` (circular, so the result loops seamlessly)."""
    import numpy as np

    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs: Floats = np.fft.rfftfreq(n, 1.0 / CLIP_RATE).astype(np.float64)
    shaped: Floats = np.fft.irfft(spectrum * gain(freqs), n).astype(np.float64)
    result: Floats = shaped / (np.sqrt(np.mean(shaped**2)) + 1e-12)
    return result


def _band(low: float, high: float, slope: float = 0.0) -> Callable[[Floats], Floats]:
    """A soft band-pass gain with a ``1/f**slope`` tilt (slope 0.5 = pink, 1 = brown)."""
    import numpy as np

    def gain(f: Floats) -> Floats:
        f = np.maximum(f, 1.0)
        lo = 1.0 / (1.0 + (low / f) ** 4)
        hi = 1.0 / (1.0 + (f / high) ** 4)
        result: Floats = lo * hi / f**slope
        return result

    return gain


def _envelope(rng: np.random.Generator, n: int, points_per_second: float, floor: float) -> Floats:
    """A smooth periodic random envelope in [floor, 1]."""
    import numpy as np

    count = max(2, round(n / CLIP_RATE * points_per_second))
    values = floor + (1.0 - floor) * rng.random(count)
    xp = np.arange(count) * (n / count)
    env: Floats = np.interp(np.arange(n), xp, values, period=n)
    # cosine smoothing of the linear segments: average with a half-period shift
    env = 0.5 * (env + np.roll(env, int(n / count / 2)))
    return env


def _add_wrapped(out: Floats, start: int, sound: Floats) -> None:
    """Add ``sound`` at ``start``, wrapping past the end of ``out`` to its beginning."""
    import numpy as np

    idx = (start + np.arange(sound.size)) % out.size
    np.add.at(out, idx, sound)


def _normalize(x: Floats, rms: float, peak: float = 0.7) -> Floats:
    import numpy as np

    x = x * (rms / (np.sqrt(np.mean(x**2)) + 1e-12))
    top = float(np.max(np.abs(x)))
    return x * (peak / top) if top > peak else x


def _to_int16(x: Floats) -> npt.NDArray[np.int16]:
    import numpy as np

    return np.asarray(np.clip(np.round(x * 32767.0), -32768, 32767), dtype=np.int16)


# -- ambiences -------------------------------------------------------------------------------


def _office() -> Floats:
    rng, n = _rng(101), 12 * CLIP_RATE
    hvac = _shaped_noise(rng, n, _band(30, 350, slope=0.5))
    air = _shaped_noise(rng, n, _band(200, 4000, slope=0.7))
    murmur = _shaped_noise(rng, n, _band(250, 2500, slope=0.3))
    murmur *= _envelope(rng, n, 4.0, 0.2) * _envelope(rng, n, 0.25, 0.0)
    bed = hvac + 0.12 * air + 0.4 * murmur
    for _ in range(10):  # distant keyboards and cups
        _add_wrapped(bed, int(rng.integers(n)), 1.5 * _click(rng, bright=0.3))
    return _normalize(bed, rms=0.035)


def _crowded_room() -> Floats:
    rng, n = _rng(202), 12 * CLIP_RATE
    bed = 0.4 * _shaped_noise(rng, n, _band(40, 300, slope=0.5))
    for _ in range(9):  # talkers: speech-shaped noise gated at syllable rate
        f1 = float(rng.uniform(300, 900))
        voice = _shaped_noise(rng, n, _band(f1 * 0.6, f1 * 4.0, slope=0.4))
        syllables = _envelope(rng, n, float(rng.uniform(7, 11)), 0.0) ** 2
        phrases = _envelope(rng, n, 0.5, 0.0)
        bed += float(rng.uniform(0.4, 1.0)) * voice * syllables * phrases
    return _normalize(bed, rms=0.06)


def _city() -> Floats:
    import numpy as np

    rng, n = _rng(303), 14 * CLIP_RATE
    bed = _shaped_noise(rng, n, _band(25, 250, slope=1.0))
    bed += 0.15 * _shaped_noise(rng, n, _band(500, 6000, slope=0.5))
    t = np.arange(n)
    for _ in range(4):  # passing cars: a swelling band of tyre and engine noise
        center, width = float(rng.integers(n)), float(rng.uniform(1.0, 2.5)) * CLIP_RATE
        dist = np.minimum(np.abs(t - center), n - np.abs(t - center))
        swell = np.exp(-0.5 * (dist / (width / 2.5)) ** 2)
        car = _shaped_noise(rng, n, _band(80, float(rng.uniform(1200, 2500)), slope=0.6))
        bed += float(rng.uniform(0.8, 1.6)) * car * swell
    return _normalize(bed, rms=0.06)


def _forest() -> Floats:
    import numpy as np

    rng, n = _rng(404), 14 * CLIP_RATE
    wind = _shaped_noise(rng, n, _band(150, 1500, slope=0.5)) * _envelope(rng, n, 0.3, 0.15)
    leaves = _shaped_noise(rng, n, _band(2500, 9000)) * _envelope(rng, n, 3.0, 0.0) ** 3
    bed = wind + 0.25 * leaves
    for _ in range(7):  # birds: a few chirps, each a quick rising sweep with one harmonic
        start = int(rng.integers(n))
        base = float(rng.uniform(2500, 4500))
        for k in range(int(rng.integers(2, 5))):
            dur = float(rng.uniform(0.05, 0.12))
            tt = np.arange(int(dur * CLIP_RATE)) / CLIP_RATE
            freq = base * (1 + 0.4 * tt / dur)
            phase = 2 * np.pi * np.cumsum(freq) / CLIP_RATE
            chirp = (np.sin(phase) + 0.2 * np.sin(2 * phase)) * np.sin(np.pi * tt / dur) ** 2
            _add_wrapped(bed, start + int(k * rng.uniform(0.1, 0.18) * CLIP_RATE), 1.2 * chirp)
    return _normalize(bed, rms=0.04)


# -- keyboard --------------------------------------------------------------------------------


def _click(rng: np.random.Generator, *, bright: float) -> Floats:
    """One keystroke: a short bright noise burst over a damped low 'thock'."""
    import numpy as np

    m = int(0.06 * CLIP_RATE)
    t = np.arange(m) / CLIP_RATE
    noise = rng.standard_normal(m)
    hiss = np.diff(noise, prepend=0.0) * bright + noise * (1 - bright)  # differencing brightens
    burst = hiss * np.exp(-t / float(rng.uniform(0.003, 0.007)))
    thock = np.sin(2 * np.pi * float(rng.uniform(140, 260)) * t) * np.exp(-t / 0.012)
    sound: Floats = 0.6 * burst + 0.4 * thock
    return sound


def _typing(seed: int, *, bright: float, tempo: float) -> Floats:
    rng, n = _rng(seed), 10 * CLIP_RATE
    out = 0.02 * _shaped_noise(rng, n, _band(100, 4000, slope=0.5))  # quiet room tone
    pos = 0.2
    while pos < n / CLIP_RATE - 0.2:
        for _ in range(int(rng.integers(2, 9))):  # one word
            level = float(rng.uniform(0.6, 1.0))
            _add_wrapped(out, int(pos * CLIP_RATE), level * _click(rng, bright=bright))
            release = pos + float(rng.uniform(0.06, 0.1))
            _add_wrapped(out, int(release * CLIP_RATE), 0.3 * level * _click(rng, bright=bright))
            pos += max(0.05, float(rng.normal(0.14, 0.04))) / tempo
        space = pos  # the space bar: lower and louder
        _add_wrapped(out, int(space * CLIP_RATE), 1.2 * _click(rng, bright=bright * 0.5))
        pos += float(rng.uniform(0.2, 0.5)) / tempo
        if rng.random() < 0.15:
            pos += float(rng.uniform(0.6, 1.2))
    return _normalize(out, rms=0.05, peak=0.6)


def _typing1() -> Floats:
    return _typing(505, bright=0.7, tempo=1.0)


def _typing2() -> Floats:
    return _typing(606, bright=0.45, tempo=0.8)


# -- hold music ------------------------------------------------------------------------------


def _note(midi: int, seconds: float, *, decay: float, level: float) -> Floats:
    import numpy as np

    t = np.arange(int(seconds * CLIP_RATE)) / CLIP_RATE
    f = 440.0 * 2 ** ((midi - 69) / 12)
    tone = np.sin(2 * np.pi * f * t) + 0.3 * np.sin(4 * np.pi * f * t) + 0.1 * np.sin(6 * np.pi * f * t)
    env = np.minimum(1.0, t / 0.01) * np.exp(-t / decay)
    sound: Floats = level * tone * env
    return sound


def _hold_music() -> Floats:
    import numpy as np

    bar = 2.0
    chords = [(48, [60, 64, 67]), (45, [57, 60, 64]), (41, [57, 60, 65]), (43, [55, 59, 62])]
    n = int(len(chords) * bar * CLIP_RATE)
    out = np.zeros(n)
    for i, (bass, triad) in enumerate(chords):
        start = int(i * bar * CLIP_RATE)
        _add_wrapped(out, start, _note(bass, 2.5, decay=1.0, level=0.5))
        for m in triad:
            _add_wrapped(out, start, _note(m, 2.5, decay=1.2, level=0.25))
        a, b, c = triad
        for k, m in enumerate([a, b, c, a + 12, c, b, a, b]):  # eighth notes at 120 bpm
            _add_wrapped(out, start + int(k * 0.25 * CLIP_RATE),
                         _note(m + 12, 0.6, decay=0.2, level=0.15))
    return _normalize(out, rms=0.08)


_SYNTHS: dict[str, Callable[[], Floats]] = {
    "office-ambience": _office,
    "crowded-room": _crowded_room,
    "city-ambience": _city,
    "forest-ambience": _forest,
    "keyboard-typing": _typing1,
    "keyboard-typing2": _typing2,
    "hold-music": _hold_music,
}
