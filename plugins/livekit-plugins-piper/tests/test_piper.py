"""Piper TTS: strings and options (fast), and real synthesis with the joe voice (slow)."""

from __future__ import annotations

import asyncio
import importlib.metadata
import json
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from livekit.agents import registry
from livekit.plugins.piper import TTS


def test_local_piper_and_piper_joe_resolve_to_the_joe_voice() -> None:
    for spec in ("local/piper", "local/piper:joe", "piper/joe", "piper"):
        tts = registry.resolve("tts", spec)
        assert isinstance(tts, TTS), spec
        assert (tts.voice, tts.sample_rate, tts.num_channels) == ("joe", 22050, 1)
        assert tts.capabilities.streaming is False  # the session streams it by sentence


def test_string_errors_are_clear() -> None:
    with pytest.raises(ValueError, match="unknown Piper voice 'amy'; packaged voices: joe"):
        registry.resolve("tts", "piper/amy")
    with pytest.raises(ValueError, match="unknown local TTS model 'kokoro'"):
        registry.resolve("tts", "local/kokoro")
    with pytest.raises(ValueError, match="takes no variant"):
        registry.resolve("tts", "piper/joe:fast")
    with pytest.raises(ValueError, match="not both"):
        registry.resolve("tts", "local/piper:joe", voice="joe")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"length_scale": 0}, "length_scale must be > 0"),
        ({"noise_scale": -1}, "noise_scale must be > 0"),
        ({"volume": 0}, "volume must be > 0"),
        ({"speaker_id": 1}, "has 1 speaker"),
        ({"num_threads": 0}, "num_threads must be >= 1"),
    ],
)
def test_bad_options_are_rejected(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TTS(**options)


def test_a_voice_file_by_path(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="voice file not found"):
        TTS(model_path=tmp_path / "missing.onnx")
    model = tmp_path / "custom.onnx"
    model.write_bytes(b"onnx")
    Path(f"{model}.json").write_text("not json")
    with pytest.raises(ValueError, match="is not a Piper voice config"):
        TTS(model_path=model)
    Path(f"{model}.json").write_text(json.dumps({"audio": {"sample_rate": 16000}}))
    tts = TTS(model_path=model)  # nothing is loaded until the first synthesis
    assert (tts.voice, tts.sample_rate) == ("custom", 16000)


def test_the_plugin_is_gpl_like_piper() -> None:
    meta = importlib.metadata.metadata("livekit-plugins-piper")
    assert meta.get("License-Expression") == "GPL-3.0-or-later"
    assert "COPYING" in (meta.get_all("License-File") or [])


async def test_empty_text_gives_no_audio_without_loading_anything() -> None:
    tts = TTS()
    frames = [ev async for ev in tts.synthesize("   ")]
    assert frames == []


# -- real synthesis --------------------------------------------------------------------------


@pytest.mark.slow
async def test_synthesis_is_non_silent_speech_at_22050_hz() -> None:
    tts = registry.resolve("tts", "local/piper")
    metrics: list[Any] = []
    tts.on("metrics_collected", metrics.append)
    frame = await tts.synthesize("What is the weather in Paris today?").collect()
    assert (frame.sample_rate, frame.num_channels) == (22050, 1)
    assert 1.2 < frame.duration < 4.0
    pcm = np.frombuffer(frame.data, dtype=np.int16).astype(np.float32) / 32768
    assert float(np.sqrt(np.mean(pcm**2))) > 0.03  # speech, not silence
    loud = np.abs(pcm) > 0.05
    assert 0.2 < loud.mean() < 0.95  # with the pauses of real speech, not noise
    assert metrics and metrics[-1].audio_duration == pytest.approx(frame.duration, abs=0.06)
    assert metrics[-1].characters_count == len("What is the weather in Paris today?")


@pytest.mark.slow
async def test_each_sentence_is_pushed_as_soon_as_it_is_synthesized() -> None:
    tts = TTS()
    pushes: list[int] = []
    await asyncio.to_thread(
        tts._synthesize_blocking,
        "Hello there. I can answer questions. What would you like to know?",
        lambda pcm: pushes.append(len(pcm)),
        threading.Event(),
    )
    assert len(pushes) == 3 and all(n > 22050 // 2 for n in pushes)

    # through the stream: the first audio arrives before the whole text is synthesized
    stream = tts.synthesize("First sentence here. And a second, longer sentence follows it.")
    first = await stream.__anext__()
    assert first.frame.sample_rate == 22050
    rest = [ev async for ev in stream]
    assert rest and rest[-1].is_final


@pytest.mark.slow
async def test_two_sessions_share_one_loaded_voice() -> None:
    from livekit.agents import AgentSession

    first = AgentSession(tts="local/piper")
    second = AgentSession(tts=registry.resolve("tts", "piper/joe", length_scale=1.1))
    assert first.tts is not second.tts
    assert first.tts.load() is second.tts.load()  # type: ignore[union-attr]


@pytest.mark.slow
async def test_cancelling_a_synthesis_stops_it() -> None:
    tts = TTS()
    stream = tts.synthesize("One. Two. Three. Four. Five. Six. Seven. Eight. Nine. Ten.")
    await stream.__anext__()
    await stream.aclose()
    frame = await tts.synthesize("Still working.").collect()
    assert frame.duration > 0.3
