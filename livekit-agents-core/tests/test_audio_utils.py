"""Audio helpers: conversion between rates and channel layouts, chunking, WAV files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from livekit import rtc

from livekit.agents.utils.audio import (
    AudioByteStream,
    AudioConverter,
    merge_frames,
    read_wav,
    write_wav,
)


def _tone(rate: int, seconds: float, channels: int = 1) -> rtc.AudioFrame:
    n = int(rate * seconds)
    mono = (0.3 * 32767 * np.sin(2 * np.pi * 440 * np.arange(n) / rate)).astype(np.int16)
    data = np.repeat(mono[:, None], channels, axis=1).reshape(-1)
    return rtc.AudioFrame(data.tobytes(), rate, channels, n)


@pytest.mark.parametrize(("src", "dst"), [(48000, 16000), (24000, 48000), (16000, 16000), (44100, 24000)])
def test_converter_changes_rate_and_keeps_duration(src: int, dst: int) -> None:
    conv = AudioConverter(dst, 1)
    out = []
    for _ in range(10):
        out += conv.push(_tone(src, 0.02))
    out += conv.flush()
    assert {f.sample_rate for f in out} == {dst}
    assert sum(f.duration for f in out) == pytest.approx(0.2, abs=0.01)


def test_converter_mixes_stereo_to_mono_and_back() -> None:
    mono = AudioConverter(24000, 1).push(_tone(24000, 0.1, channels=2))
    assert mono[0].num_channels == 1 and mono[0].samples_per_channel == 2400
    stereo = AudioConverter(24000, 2).push(_tone(24000, 0.1))
    assert stereo[0].num_channels == 2


def test_converter_follows_input_format_changes() -> None:
    conv = AudioConverter(16000, 1)
    out = conv.push(_tone(48000, 0.1)) + conv.push(_tone(16000, 0.1)) + conv.flush()
    assert sum(f.duration for f in out) == pytest.approx(0.2, abs=0.01)


def test_byte_stream_chunks_and_flushes() -> None:
    bs = AudioByteStream(16000, 1, samples_per_channel=160)
    frames = bs.write(bytes(500))
    assert [f.samples_per_channel for f in frames] == [160]
    tail = bs.flush()
    assert [f.samples_per_channel for f in tail] == [90]
    assert bs.flush() == []


def test_merge_frames_checks_formats() -> None:
    merged = merge_frames([_tone(16000, 0.1), _tone(16000, 0.2)])
    assert merged.duration == pytest.approx(0.3)
    with pytest.raises(ValueError, match="different formats"):
        merge_frames([_tone(16000, 0.1), _tone(24000, 0.1)])
    with pytest.raises(ValueError, match="empty"):
        merge_frames([])


def test_wav_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "a.wav"
    assert write_wav(path, [_tone(24000, 0.5)]) == pytest.approx(0.5)
    rate, channels, frames = read_wav(path)
    assert (rate, channels) == (24000, 1)
    assert sum(f.duration for f in frames) == pytest.approx(0.5)


def test_bad_wav_files_give_clear_errors(tmp_path: Path) -> None:
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"not a wav")
    with pytest.raises(ValueError, match="not a readable WAV file"):
        read_wav(junk)
    import wave

    eight = tmp_path / "8bit.wav"
    with wave.open(str(eight), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(1)
        w.setframerate(8000)
        w.writeframes(bytes(800))
    with pytest.raises(ValueError, match="only 16-bit PCM"):
        read_wav(eight)
