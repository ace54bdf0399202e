"""Azure TTS through its real client (aiohttp REST, SSML in, raw PCM out) against a local fake."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from fake_servers.azure import FakeAzureSpeech

from livekit.agents import (
    APIConnectionError,
    APIConnectOptions,
    APIStatusError,
    APITimeoutError,
    MissingCredentialsError,
    registry,
)
from livekit.agents.metrics import TTSMetrics
from livekit.agents.tts import TTSError
from livekit.plugins import azure

KEY = "az-secret-key-123"
FAST = APIConnectOptions(max_retry=2, retry_interval=0.05, timeout=2.0)
NO_RETRY = APIConnectOptions(max_retry=0, retry_interval=0.05, timeout=0.5)
TEXT = "Hello <world> & friends, this is long enough."


@pytest.fixture
async def srv() -> AsyncIterator[FakeAzureSpeech]:
    async with FakeAzureSpeech(api_key=KEY, ms_per_char=10) as server:
        yield server


@pytest.fixture
async def tts(srv: FakeAzureSpeech) -> AsyncIterator[azure.TTS]:
    t = azure.TTS(api_key=KEY, base_url=srv.base_url)
    yield t
    await t.aclose()


def test_resolves_voice_variant(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_SPEECH_KEY", KEY)
    monkeypatch.setenv("AZURE_SPEECH_REGION", "westus")
    t = registry.resolve("tts", "azure/neural:fr-FR-DeniseNeural")
    assert isinstance(t, azure.TTS)
    assert (t.voice, t._opts.language, t.provider) == ("fr-FR-DeniseNeural", "fr-FR", "azure")
    assert t._opts.url == "https://westus.tts.speech.microsoft.com/cognitiveservices/v1"
    assert not t.capabilities.streaming  # the session synthesizes sentence by sentence
    assert registry.resolve("tts", "azure").voice == "en-US-JennyNeural"
    with pytest.raises(ValueError, match="azure/neural"):
        registry.resolve("tts", "azure/other")


def test_missing_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AZURE_SPEECH_KEY", raising=False)
    monkeypatch.delenv("AZURE_SPEECH_REGION", raising=False)
    with pytest.raises(MissingCredentialsError, match="AZURE_SPEECH_KEY"):
        registry.resolve("tts", "azure/neural")
    with pytest.raises(MissingCredentialsError, match="AZURE_SPEECH_REGION"):
        azure.TTS(api_key=KEY)
    with pytest.raises(ValueError, match="24000"):
        azure.TTS(api_key=KEY, region="westus", sample_rate=11025)


async def test_synthesize_streams_pcm(srv: FakeAzureSpeech) -> None:
    async with azure.TTS(
        api_key=KEY,
        base_url=srv.base_url,
        voice="de-DE-KatjaNeural",
        sample_rate=16000,
        rate="+10%",
        style="cheerful",
    ) as tts:
        frames = [ev.frame async for ev in tts.synthesize(TEXT, conn_options=FAST)]
    rec = srv.received[0]
    assert rec.kind == "tts" and rec.status == 200
    assert rec.headers["ocp-apim-subscription-key"] == KEY
    assert rec.headers["x-microsoft-outputformat"] == "raw-16khz-16bit-mono-pcm"
    assert (rec.voice, rec.language, rec.text) == ("de-DE-KatjaNeural", "de-DE", TEXT)
    assert b'<prosody rate="+10%">' in rec.body and b'style="cheerful"' in rec.body
    assert len(frames) > 1 and all(f.sample_rate == 16000 and f.num_channels == 1 for f in frames)
    assert sum(f.duration for f in frames) == pytest.approx(len(TEXT) * 0.010, abs=0.002)
    assert srv.violations == []


async def test_metrics_are_reported_per_request(srv: FakeAzureSpeech, tts: azure.TTS) -> None:
    metrics: list[TTSMetrics] = []
    tts.on("metrics_collected", metrics.append)
    frame = await tts.synthesize(TEXT, conn_options=FAST).collect()
    (m,) = metrics
    assert not m.streamed and m.characters_count == len(TEXT)
    assert m.audio_duration == pytest.approx(frame.duration)
    assert (m.model, m.provider) == ("neural", "azure") and m.request_id
    assert 0 <= m.ttfb <= m.duration


async def test_forbidden_is_not_retried(srv: FakeAzureSpeech, tts: azure.TTS) -> None:
    srv.fail_next(403)
    with pytest.raises(APIStatusError) as exc:
        await tts.synthesize(TEXT, conn_options=FAST).collect()
    assert exc.value.status_code == 403 and not exc.value.retryable
    assert "rejected the key" in str(exc.value)
    assert len(srv.received) == 1


async def test_rejected_key_is_not_retried(srv: FakeAzureSpeech) -> None:
    async with azure.TTS(api_key="wrong-key-456", base_url=srv.base_url) as tts:
        with pytest.raises(APIStatusError) as exc:
            await tts.synthesize(TEXT, conn_options=FAST).collect()
    assert exc.value.status_code == 401 and not exc.value.retryable
    assert "rejected the key" in str(exc.value) and "wrong-key-456" not in str(exc.value)
    assert len(srv.received) == 1


async def test_429_honours_retry_after(srv: FakeAzureSpeech, tts: azure.TTS) -> None:
    errors: list[TTSError] = []
    tts.on("error", errors.append)
    srv.fail_next(429, retry_after=0.3)
    assert (await tts.synthesize(TEXT, conn_options=FAST).collect()).duration > 0
    assert [r.status for r in srv.received] == [429, 200]
    assert srv.received[1].at - srv.received[0].at >= 0.3
    err = errors[0].error
    assert isinstance(err, APIStatusError) and err.retry_after == 0.3


async def test_500_is_retried(srv: FakeAzureSpeech, tts: azure.TTS) -> None:
    srv.fail_next(500)
    assert (await tts.synthesize(TEXT, conn_options=FAST).collect()).duration > 0
    assert [r.status for r in srv.received] == [500, 200]


async def test_drop_before_audio_is_retried(srv: FakeAzureSpeech, tts: azure.TTS) -> None:
    srv.disconnect_next(after=0)
    assert (await tts.synthesize(TEXT, conn_options=FAST).collect()).duration > 0
    assert len(srv.received) == 2


async def test_drop_after_audio_is_an_error(srv: FakeAzureSpeech, tts: azure.TTS) -> None:
    srv.disconnect_next(after=2)
    with pytest.raises(APIConnectionError):
        await tts.synthesize(TEXT, conn_options=FAST).collect()
    assert len(srv.received) == 1


async def test_stall_times_out(srv: FakeAzureSpeech, tts: azure.TTS) -> None:
    srv.stall_next(after=1)
    with pytest.raises(APITimeoutError):
        await tts.synthesize(TEXT, conn_options=NO_RETRY).collect()
