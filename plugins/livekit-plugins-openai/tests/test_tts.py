"""openai.TTS through the real SDK against the local fake ``/audio/speech`` endpoint."""

from __future__ import annotations

import base64
import io
import json
import wave
from collections.abc import AsyncIterator
from typing import Any

import pytest
from fake_servers.openai import FakeOpenAI

from livekit.agents import (
    APIConnectionError,
    APIConnectOptions,
    APIStatusError,
    APITimeoutError,
    MissingCredentialsError,
)
from livekit.agents.metrics import TTSMetrics
from livekit.agents.tts import AudioEmitter, SynthesizedAudio
from livekit.agents.utils.aio import Chan
from livekit.plugins import openai

FAST = APIConnectOptions(max_retry=2, retry_interval=0.01, timeout=5.0)


def _tts(srv: FakeOpenAI, **kwargs: Any) -> openai.TTS:
    return openai.TTS(base_url=srv.base_url, api_key=srv.api_key, **kwargs)


def _pcm(samples: int) -> bytes:
    return b"".join((i % 2000 - 1000).to_bytes(2, "little", signed=True) for i in range(samples))


async def test_audio_streams_as_24khz_pcm_frames(srv: FakeOpenAI) -> None:
    pcm = _pcm(24000)  # one second
    srv.script_speech(pcm)
    gate = srv.hold_next(after=1, endpoint="audio/speech")  # one 100 ms chunk, then wait
    tts = _tts(srv, model="tts-1", voice="nova")
    frames: list[SynthesizedAudio] = []
    async with tts.synthesize("Hello there, how are you?", conn_options=FAST) as stream:
        async for audio in stream:
            frames.append(audio)
            if len(frames) == 1:
                # the first audio is played while the server still holds the rest
                assert not gate.is_set()
                gate.set()
    assert all(f.frame.sample_rate == 24000 and f.frame.num_channels == 1 for f in frames)
    assert b"".join(bytes(f.frame.data) for f in frames) == pcm

    req = srv.speech_requests[-1]
    assert req.headers["Authorization"] == f"Bearer {srv.api_key}"
    assert req.json == {
        "input": "Hello there, how are you?",
        "model": "tts-1",
        "voice": "nova",
        "response_format": "pcm",
        "speed": 1.0,
    }
    srv.assert_no_violations()
    await tts.aclose()


async def test_odd_sized_chunks_are_reassembled() -> None:
    async with FakeOpenAI(speech_chunk_bytes=1001) as srv:
        pcm = _pcm(7000)
        srv.script_speech(pcm)
        tts = _tts(srv)
        frame = await tts.synthesize("Odd chunks.", conn_options=FAST).collect()
        assert bytes(frame.data) == pcm
        assert frame.sample_rate == 24000
        await tts.aclose()


async def test_instructions_and_metrics(srv: FakeOpenAI) -> None:
    tts = _tts(
        srv, model="gpt-4o-mini-tts", voice="coral", speed=1.25, instructions="Speak warmly."
    )
    metrics: list[TTSMetrics] = []
    tts.on("metrics_collected", metrics.append)
    frame = await tts.synthesize("Welcome back!", conn_options=FAST).collect()
    assert frame.duration > 0
    body = srv.speech_requests[-1].json
    assert body["instructions"] == "Speak warmly."
    assert body["voice"] == "coral" and body["speed"] == 1.25
    assert metrics and metrics[-1].characters_count == len("Welcome back!")
    assert metrics[-1].audio_duration == pytest.approx(frame.duration)
    assert metrics[-1].request_id.startswith("req_")

    tts.update_options(voice="sage", instructions=None)
    await tts.synthesize("Again.", conn_options=FAST).collect()
    body = srv.speech_requests[-1].json
    assert body["voice"] == "sage" and "instructions" not in body
    await tts.aclose()


async def test_blank_text_makes_no_request(srv: FakeOpenAI) -> None:
    tts = _tts(srv)
    frames = [a async for a in tts.synthesize("   ", conn_options=FAST)]
    assert frames == []
    assert srv.speech_requests == []
    await tts.aclose()


async def test_resolve_by_string_voice_variant(srv: FakeOpenAI) -> None:
    from livekit.agents import registry

    tts = registry.resolve(
        "tts", "openai/tts-1-hd:shimmer", api_key=srv.api_key, base_url=srv.base_url
    )
    assert isinstance(tts, openai.TTS)
    assert (tts.model, tts.voice, tts.sample_rate) == ("tts-1-hd", "shimmer", 24000)
    assert tts.capabilities.streaming is False
    await tts.synthesize("Hi.", conn_options=FAST).collect()
    assert srv.speech_requests[-1].json["voice"] == "shimmer"
    default = registry.resolve("tts", "openai/gpt-4o-mini-tts", api_key="k")
    assert default.voice == "alloy"
    await tts.aclose()
    await default.aclose()


def test_missing_key_and_bad_options() -> None:
    with pytest.raises(MissingCredentialsError, match="OPENAI_API_KEY"):
        openai.TTS()
    with pytest.raises(ValueError, match="speed"):
        openai.TTS(api_key="k", speed=9)
    with pytest.raises(ValueError, match="voice"):
        openai.TTS(api_key="k", voice="")


# -- faults --------------------------------------------------------------------------------


async def test_401_is_not_retried(srv: FakeOpenAI) -> None:
    tts = openai.TTS(base_url=srv.base_url, api_key="sk-bad-key-000000")
    with pytest.raises(APIStatusError) as info:
        await tts.synthesize("Hi.", conn_options=FAST).collect()
    assert info.value.status_code == 401 and not info.value.retryable
    assert "rejected the API key" in str(info.value) and "sk-bad-key-000000" not in str(info.value)
    assert len(srv.speech_requests) == 1
    await tts.aclose()


async def test_429_then_500_are_retried(srv: FakeOpenAI, retry_sleeps: list[float]) -> None:
    srv.fail_next(429, retry_after=2, endpoint="audio/speech")
    srv.fail_next(503, endpoint="audio/speech")
    tts = _tts(srv)
    frame = await tts.synthesize("Retry me.", conn_options=FAST).collect()
    assert frame.duration > 0
    assert [r.status for r in srv.speech_requests] == [429, 503, 200]
    assert retry_sleeps == [2.0]
    await tts.aclose()


async def test_disconnect_after_audio_is_an_error_and_not_retried(srv: FakeOpenAI) -> None:
    srv.script_speech(_pcm(24000))
    srv.disconnect_next(after=2, endpoint="audio/speech")
    tts = _tts(srv)
    frames: list[SynthesizedAudio] = []
    with pytest.raises(APIConnectionError):
        async for audio in tts.synthesize("Cut off.", conn_options=FAST):
            frames.append(audio)
    assert frames  # the audio that arrived was played
    assert len(srv.speech_requests) == 1
    await tts.aclose()


async def test_stall_times_out(srv: FakeOpenAI) -> None:
    srv.stall_next(after=1, endpoint="audio/speech")
    tts = _tts(srv)
    with pytest.raises(APITimeoutError):
        await tts.synthesize(
            "Stuck.", conn_options=APIConnectOptions(max_retry=0, timeout=0.3)
        ).collect()
    await tts.aclose()


# -- response shapes of compatible servers -------------------------------------------------


async def _chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


def _emitter() -> tuple[AudioEmitter, Chan[SynthesizedAudio]]:
    out: Chan[SynthesizedAudio] = Chan()
    emitter = AudioEmitter(out)
    emitter.initialize(request_id="r", sample_rate=24000, num_channels=1)
    return emitter, out


def _drain(emitter: AudioEmitter, out: Chan[SynthesizedAudio]) -> bytes:
    emitter.flush()
    out.close()
    data = b""
    while True:
        try:
            data += bytes(out.recv_nowait().frame.data)
        except Exception:
            return data


async def test_wav_header_from_a_compatible_server_is_skipped() -> None:
    from livekit.plugins.openai.tts import _push_pcm

    pcm = _pcm(3000)
    buf = io.BytesIO()
    with wave.open(buf, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(24000)
        wav.writeframes(pcm)
    data = buf.getvalue()
    emitter, out = _emitter()
    await _push_pcm(_chunks(data[:10], data[10:30], data[30:]), emitter)
    assert _drain(emitter, out) == pcm


async def test_sse_audio_events_are_decoded() -> None:
    from livekit.plugins.openai.tts import _push_sse

    pcm = _pcm(4000)
    events = (
        b"".join(
            b"data: "
            + json.dumps(
                {"type": "speech.audio.delta", "audio": base64.b64encode(part).decode()}
            ).encode()
            + b"\n\n"
            for part in (pcm[:3000], pcm[3000:])
        )
        + b'data: {"type": "speech.audio.done"}\n\n'
    )
    emitter, out = _emitter()
    await _push_sse(_chunks(events[:17], events[17:100], events[100:]), emitter)
    assert _drain(emitter, out) == pcm
