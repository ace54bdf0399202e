"""Construction, provider strings, metrics, ``synthesize()`` over ``/tts/bytes`` and key hygiene."""

from __future__ import annotations

import logging

import pytest
from fake_servers.cartesia import FakeCartesia

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
from livekit.plugins import cartesia
from livekit.plugins.cartesia.models import DEFAULT_MODEL, DEFAULT_VOICE

RETRYING = APIConnectOptions(max_retry=3, retry_interval=0.05, timeout=5.0)
NO_RETRY = APIConnectOptions(max_retry=0, timeout=5.0)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CARTESIA_API_KEY", raising=False)
    monkeypatch.delenv("CARTESIA_BASE_URL", raising=False)


def make_tts(srv: FakeCartesia, **kwargs: object) -> cartesia.TTS:
    return cartesia.TTS(api_key=srv.api_key, base_url=srv.base_url, **kwargs)  # type: ignore[arg-type]


# -- construction and provider strings -----------------------------------------------------


def test_missing_key_names_the_variable() -> None:
    with pytest.raises(MissingCredentialsError, match="CARTESIA_API_KEY") as info:
        cartesia.TTS()
    assert info.value.env_var == "CARTESIA_API_KEY"
    with pytest.raises(MissingCredentialsError):
        registry.resolve("tts", "cartesia/sonic-2")


def test_bad_options_are_rejected_clearly() -> None:
    with pytest.raises(ValueError, match="24000"):
        cartesia.TTS(api_key="k", sample_rate=11025)
    with pytest.raises(ValueError, match="max_buffer_delay_ms"):
        cartesia.TTS(api_key="k", max_buffer_delay_ms=6000)
    with pytest.raises(ValueError, match="base_url"):
        cartesia.TTS(api_key="k", base_url="api.cartesia.ai")


def test_resolve_by_string_model_voice_and_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CARTESIA_API_KEY", "from-env")
    tts = registry.resolve("tts", "cartesia/sonic-3:my-voice-id")
    assert isinstance(tts, cartesia.TTS)
    assert (tts.model, tts.voice, tts.provider) == ("sonic-3", "my-voice-id", "cartesia")
    assert tts.capabilities.streaming and tts.sample_rate == 24000
    default = registry.resolve("tts", "cartesia/sonic-2")
    assert (default.model, default.voice) == ("sonic-2", DEFAULT_VOICE)
    bare = registry.resolve("tts", "cartesia")
    assert (bare.model, bare.voice) == (DEFAULT_MODEL, DEFAULT_VOICE)
    with_options = registry.resolve("tts", "cartesia/sonic-2", language="de", sample_rate=16000)
    assert with_options.options.language == "de" and with_options.sample_rate == 16000


async def test_base_url_from_the_environment(
    srv: FakeCartesia, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CARTESIA_API_KEY", srv.api_key)
    monkeypatch.setenv("CARTESIA_BASE_URL", srv.base_url)
    tts = registry.resolve("tts", "cartesia/sonic-2")
    frame = await tts.synthesize("From the environment.", conn_options=NO_RETRY).collect()
    assert frame.duration > 0 and len(srv.posts) == 1
    await tts.aclose()


# -- synthesize() over POST /tts/bytes -----------------------------------------------------


async def test_synthesize_streams_pcm_and_reports_metrics(srv: FakeCartesia) -> None:
    tts = make_tts(srv, voice="my-voice", language="fr", sample_rate=16000)
    metrics: list[TTSMetrics] = []
    tts.on("metrics_collected", metrics.append)
    text = "Bonjour tout le monde."
    frames = [ev.frame async for ev in tts.synthesize(text, conn_options=NO_RETRY)]
    await tts.aclose()

    post = srv.posts[0]
    assert post.headers["Authorization"] == f"Bearer {srv.api_key}"
    assert post.headers["Cartesia-Version"]
    body = post.json
    assert body["model_id"] == "sonic-2" and body["transcript"] == text
    assert body["voice"] == {"mode": "id", "id": "my-voice"} and body["language"] == "fr"
    assert body["output_format"] == {
        "container": "raw",
        "encoding": "pcm_s16le",
        "sample_rate": 16000,
    }
    assert len(frames) > 1 and {f.sample_rate for f in frames} == {16000}
    duration = sum(f.duration for f in frames)
    assert duration == pytest.approx(post.extra["audio_bytes"] / 2 / 16000)
    srv.assert_no_violations()

    (m,) = metrics
    assert m.characters_count == len(text) and not m.streamed
    assert m.audio_duration == pytest.approx(duration)
    assert (m.model, m.provider) == ("sonic-2", "cartesia")
    assert len(m.request_id) == 36 and m.ttfb >= 0  # the X-Request-Id the server answered


async def test_synthesize_blank_text_makes_no_request(srv: FakeCartesia) -> None:
    tts = make_tts(srv)
    assert [ev async for ev in tts.synthesize("  ", conn_options=NO_RETRY)] == []
    assert srv.posts == []
    await tts.aclose()


@pytest.mark.parametrize("status", [401, 403])
async def test_synthesize_rejected_key_is_not_retried(srv: FakeCartesia, status: int) -> None:
    if status == 401:
        tts = cartesia.TTS(api_key="wrong-cartesia-key", base_url=srv.base_url)
    else:
        srv.fail_next(403)
        tts = make_tts(srv)
    errors: list[TTSError] = []
    tts.on("error", errors.append)
    with pytest.raises(APIStatusError) as info:
        await tts.synthesize("Hello.", conn_options=RETRYING).collect()
    assert info.value.status_code == status and not info.value.retryable
    assert "rejected the API key" in str(info.value) and "CARTESIA_API_KEY" in str(info.value)
    assert "wrong-cartesia-key" not in str(info.value)
    assert len(srv.posts) == 1
    assert [e.recoverable for e in errors] == [False]
    await tts.aclose()


async def test_synthesize_429_and_500_are_retried(srv: FakeCartesia) -> None:
    srv.fail_next(429, retry_after=0.2)
    srv.fail_next(500)
    tts = make_tts(srv)
    errors: list[TTSError] = []
    tts.on("error", errors.append)
    frame = await tts.synthesize("Third time.", conn_options=RETRYING).collect()
    assert frame.duration > 0
    assert [p.status for p in srv.posts] == [429, 500, 200]
    assert srv.posts[1].at - srv.posts[0].at >= 0.2  # Retry-After was waited out
    first = errors[0].error
    assert isinstance(first, APIStatusError) and first.retry_after == pytest.approx(0.2)
    assert [e.recoverable for e in errors] == [True, True]
    await tts.aclose()


async def test_synthesize_drop_after_audio_is_an_error(srv: FakeCartesia) -> None:
    srv.disconnect_next(after=2)
    tts = make_tts(srv)
    with pytest.raises(APIConnectionError):
        await tts.synthesize(
            "A sentence long enough for several chunks.", conn_options=RETRYING
        ).collect()
    assert len(srv.posts) == 1  # audio was already out: no retry that would repeat it
    await tts.aclose()


async def test_synthesize_stall_times_out(srv: FakeCartesia) -> None:
    srv.stall_next(after=1)
    tts = make_tts(srv)
    with pytest.raises(APITimeoutError):
        await tts.synthesize(
            "A sentence long enough for several chunks.",
            conn_options=APIConnectOptions(max_retry=0, timeout=0.3),
        ).collect()
    await tts.aclose()


# -- the key stays out of logs -------------------------------------------------------------


async def test_key_never_reaches_the_logs(
    srv: FakeCartesia, caplog: pytest.LogCaptureFixture
) -> None:
    """Even at DEBUG level, where websockets logs every handshake header."""
    caplog.set_level(logging.DEBUG)
    tts = make_tts(srv)
    srv.fail_next(500)
    async with tts.stream(conn_options=RETRYING) as stream:
        stream.push_text("Over the websocket.")
        stream.end_input()
        assert [f async for f in stream]
    srv.fail_next(500)
    assert (await tts.synthesize("Over REST.", conn_options=RETRYING).collect()).duration > 0
    await tts.aclose()
    wrong = cartesia.TTS(api_key="wrong-cartesia-key", base_url=srv.base_url)
    with pytest.raises(APIStatusError):
        await wrong.synthesize("Hello.", conn_options=RETRYING).collect()
    async with wrong.stream(conn_options=RETRYING) as stream:
        stream.push_text("Hello.")
        stream.end_input()
        with pytest.raises(APIStatusError):
            async for _ in stream:
                pass
    await wrong.aclose()

    assert "Authorization" in caplog.text  # the handshake was logged...
    assert srv.api_key not in caplog.text  # ...without the key
    assert "wrong-cartesia-key" not in caplog.text
