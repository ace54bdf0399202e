"""Model input: the last 8 s of 16 kHz speech as Whisper-style log-mel features (numpy only).

Smart Turn v3 reads an 80 x 800 log-mel spectrogram, the front end of Whisper: 25 ms Hann
windows every 10 ms (400-point FFT), power spectrum, 80 triangular mel filters on the Slaney
scale with area normalisation, log10, a dynamic range of 80 dB under the loudest bin, and the
scaling ``(x + 4) / 4``. Audio shorter than 8 s is padded with silence in front (the turn ends
at the end of the window); the waveform is normalised to zero mean and unit variance first.
"""

from __future__ import annotations

import numpy as np

SAMPLE_RATE = 16000
SECONDS = 8
N_SAMPLES = SAMPLE_RATE * SECONDS
_N_FFT = 400
_HOP = 160
_N_MELS = 80
_N_FRAMES = N_SAMPLES // _HOP  # 800


def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    """Slaney mel scale: linear (3 mels per 200 Hz) below 1 kHz, logarithmic above."""
    hz = np.asarray(hz, dtype=np.float64)
    log_step = np.log(6.4) / 27.0
    linear = hz * 3.0 / 200.0
    above = 15.0 + np.log(np.maximum(hz, 1e-12) / 1000.0) / log_step
    return np.where(hz < 1000.0, linear, above)


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    mel = np.asarray(mel, dtype=np.float64)
    log_step = np.log(6.4) / 27.0
    return np.where(mel < 15.0, mel * 200.0 / 3.0, 1000.0 * np.exp((mel - 15.0) * log_step))


def _mel_filters() -> np.ndarray:
    """(n_mels, n_fft // 2 + 1) triangular filters over 0-8 kHz, each of unit area."""
    top = float(_hz_to_mel(np.array(SAMPLE_RATE / 2)))
    edges = _mel_to_hz(np.linspace(0.0, top, _N_MELS + 2))
    bins = np.linspace(0.0, SAMPLE_RATE / 2, _N_FFT // 2 + 1)
    left, centre, right = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (bins - left) / (centre - left)
    falling = (right - bins) / (right - centre)
    triangles = np.clip(np.minimum(rising, falling), 0.0, None)
    filters: np.ndarray = (triangles * (2.0 / (right - left))).astype(np.float32)
    return filters


_FILTERS = _mel_filters()
#: periodic Hann window (the DFT-even form used by spectrogram front ends)
_WINDOW = (0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(_N_FFT) / _N_FFT)).astype(np.float32)


def fit_window(audio: np.ndarray) -> np.ndarray:
    """The last 8 s of ``audio`` (float32), padded with zeros in front to exactly 8 s."""
    out = np.zeros(N_SAMPLES, dtype=np.float32)
    tail = audio[-N_SAMPLES:]
    out[N_SAMPLES - len(tail) :] = tail
    return out


def log_mel(audio: np.ndarray) -> np.ndarray:
    """(80, 800) float32 features of 8 s of 16 kHz audio (float, about [-1, 1])."""
    x = fit_window(np.asarray(audio, dtype=np.float32))
    x = (x - x.mean()) / np.sqrt(x.var() + 1e-7)
    padded = np.pad(x, _N_FFT // 2, mode="reflect")
    frames = np.lib.stride_tricks.sliding_window_view(padded, _N_FFT)[::_HOP][:_N_FRAMES]
    power = np.abs(np.fft.rfft(frames * _WINDOW, axis=1)) ** 2
    mel = power.astype(np.float32) @ _FILTERS.T
    logs = np.log10(np.maximum(mel, 1e-10))
    logs = np.maximum(logs, logs.max() - 8.0)
    return np.ascontiguousarray(((logs + 4.0) / 4.0).T, dtype=np.float32)
