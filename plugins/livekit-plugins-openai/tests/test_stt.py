"""openai.STT through the real SDK against the local fake ``/audio/transcriptions`` endpoint."""

from __future__ import annotations

import math
import struct
from typing import Any

import pytest
from fake_servers.openai import FakeOpenAI
from livekit import rtc

from livekit.agents import (
    APIConnectionError,
    APIConnectOptions,
    APIStatusError,
    APITimeoutError,
    MissingCredentialsError,
)
from livekit.agents.metrics import STTMetrics
from livekit.agents.stt import SpeechEventType, StreamAdapter
from livekit.agents.testing import FakeVAD
from livekit.plugins import openai

FAST = APIConnectOptions(max_retry=2, retry_interval=0.01, timeout=5.0)


def _stt(srv: FakeOpenAI, **kwargs: Any) -> openai.STT:
    return openai.STT(base_url=srv.base_url, api_key=srv.api_key, **kwargs)


def _frames(
    seconds: float, *, rate: int = 16000, tone: bool = True, frame_ms: int = 20
) -> list[rtc.AudioFrame]:
    n = rate * frame_ms // 1000
    frames = []
    for k in range(int(seconds * 1000 / frame_ms)):
        samples = [
            int(6000 * math.sin(2 * math.pi * 300 * (k * n + i) / rate)) if tone else 0
            for i in range(n)
        ]
        frames.append(rtc.AudioFrame(struct.pack(f"<{n}h", *samples), rate, 1, n))
    return frames


async def test_recognize_uploads_a_wav_with_model_and_language(srv: FakeOpenAI) -> None:
    srv.script_transcription("  What's the weather like?  ")
    stt = _stt(srv, model="gpt-4o-transcribe", language="en")
    event = await stt.recognize(_frames(0.5), conn_options=FAST)
    assert event.type == SpeechEventType.FINAL_TRANSCRIPT
    assert event.alternatives[0].text == "What's the weather like?"
    assert event.alternatives[0].language == "en"
    assert event.request_id.startswith("req_")

    req = srv.transcription_requests[-1]
    assert req.headers["Authorization"] == f"Bearer {srv.api_key}"
    assert req.headers["Content-Type"].startswith("multipart/form-data")
    assert req.form["model"] == "gpt-4o-transcribe"
    assert req.form["language"] == "en"
    assert req.form["response_format"] == "json"
    assert req.files["file"].filename == "audio.wav"
    audio = req.extra["audio"]
    assert (audio["sample_rate"], audio["channels"], audio["sample_width"]) == (16000, 1, 2)
    assert audio["duration"] == pytest.approx(0.5)
    srv.assert_no_violations()
    await stt.aclose()


async def test_language_override_region_and_autodetect(srv: FakeOpenAI) -> None:
    stt = _stt(srv, language="en-US")
    await stt.recognize(_frames(0.2), conn_options=FAST)
    assert srv.transcription_requests[-1].form["language"] == "en"
    await stt.recognize(_frames(0.2), language="fr", conn_options=FAST)
    assert srv.transcription_requests[-1].form["language"] == "fr"
    auto = _stt(srv, language=None)
    event = await auto.recognize(_frames(0.2), conn_options=FAST)
    assert "language" not in srv.transcription_requests[-1].form
    assert event.alternatives[0].language == ""
    srv.assert_no_violations()
    await stt.aclose()
    await auto.aclose()


async def test_metrics_report_audio_seconds(srv: FakeOpenAI) -> None:
    stt = _stt(srv)
    metrics: list[STTMetrics] = []
    stt.on("metrics_collected", metrics.append)
    await stt.recognize(_frames(0.8), conn_options=FAST)
    assert metrics and metrics[-1].audio_duration == pytest.approx(0.8)
    assert metrics[-1].model == "gpt-4o-mini-transcribe"
    await stt.aclose()


async def test_resolve_whisper_with_language_variant(srv: FakeOpenAI) -> None:
    from livekit.agents import registry

    stt = registry.resolve("stt", "openai/whisper:fr", api_key=srv.api_key, base_url=srv.base_url)
    assert isinstance(stt, openai.STT)
    assert stt.model == "whisper-1"
    assert stt.capabilities.streaming is False
    await stt.recognize(_frames(0.2), conn_options=FAST)
    form = srv.transcription_requests[-1].form
    assert (form["model"], form["language"]) == ("whisper-1", "fr")
    await stt.aclose()


async def test_streams_through_the_vad_adapter(srv: FakeOpenAI) -> None:
    srv.script_transcription("turn on the lights")
    stt = _stt(srv)
    adapter = StreamAdapter(stt=stt, vad=FakeVAD(speech=[(0.2, 0.8)], min_silence_duration=0.2))
    stream = adapter.stream(conn_options=FAST)
    for frame in _frames(0.2, tone=False) + _frames(0.6) + _frames(0.6, tone=False):
        stream.push_frame(frame)
    stream.end_input()
    finals = [e async for e in stream if e.type == SpeechEventType.FINAL_TRANSCRIPT]
    assert [e.alternatives[0].text for e in finals] == ["turn on the lights"]
    assert len(srv.transcription_requests) == 1
    await stt.aclose()


async def test_bad_input_and_missing_key(srv: FakeOpenAI) -> None:
    stt = _stt(srv)
    with pytest.raises(ValueError, match="no audio"):
        await stt.recognize([], conn_options=FAST)
    assert srv.transcription_requests == []
    await stt.aclose()
    with pytest.raises(MissingCredentialsError, match="OPENAI_API_KEY"):
        openai.STT()


# -- faults --------------------------------------------------------------------------------


async def test_401_is_not_retried(srv: FakeOpenAI) -> None:
    stt = openai.STT(base_url=srv.base_url, api_key="sk-rejected-key-999")
    with pytest.raises(APIStatusError) as info:
        await stt.recognize(_frames(0.2), conn_options=FAST)
    assert info.value.status_code == 401 and not info.value.retryable
    assert "rejected the API key" in str(info.value) and "sk-rejected-key-999" not in str(
        info.value
    )
    assert len(srv.transcription_requests) == 1
    await stt.aclose()


async def test_429_and_500_are_retried(srv: FakeOpenAI, retry_sleeps: list[float]) -> None:
    srv.fail_next(429, retry_after=1, endpoint="transcriptions")
    srv.fail_next(500, endpoint="transcriptions")
    srv.script_transcription("finally")
    stt = _stt(srv)
    event = await stt.recognize(_frames(0.2), conn_options=FAST)
    assert event.alternatives[0].text == "finally"
    assert [r.status for r in srv.transcription_requests] == [429, 500, 200]
    assert retry_sleeps == [1.0]
    await stt.aclose()


async def test_dropped_connection_is_retried_then_reported(srv: FakeOpenAI) -> None:
    srv.disconnect_next(after=0, times=2, endpoint="transcriptions")
    stt = _stt(srv)
    with pytest.raises(APIConnectionError):
        await stt.recognize(
            _frames(0.2),
            conn_options=APIConnectOptions(max_retry=1, retry_interval=0.01, timeout=5),
        )
    assert len(srv.transcription_requests) == 2
    await stt.aclose()


async def test_stall_times_out(srv: FakeOpenAI) -> None:
    srv.stall_next(after=0, endpoint="transcriptions")
    stt = _stt(srv)
    with pytest.raises(APITimeoutError):
        await stt.recognize(_frames(0.2), conn_options=APIConnectOptions(max_retry=0, timeout=0.3))
    await stt.aclose()
