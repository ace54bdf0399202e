"""``ELEVENLABS_BASE_URL``: what provider strings use to reach another server, and its errors."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from fake_servers.elevenlabs import FakeElevenLabs

from livekit.agents import APIConnectOptions, registry
from livekit.plugins import elevenlabs

KEY = "el-secret-key-123"
NO_RETRY = APIConnectOptions(max_retry=0, timeout=5.0)
SECRET = "sk_this-key-must-not-leak-0123"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("ELEVENLABS_BASE_URL", "ELEVEN_API_KEY", "ELEVENLABS_API_KEY"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
async def srv() -> AsyncIterator[FakeElevenLabs]:
    async with FakeElevenLabs(api_key=KEY, ms_per_char=5) as server:
        yield server


@pytest.fixture
def env_server(srv: FakeElevenLabs, monkeypatch: pytest.MonkeyPatch) -> FakeElevenLabs:
    monkeypatch.setenv("ELEVEN_API_KEY", KEY)
    monkeypatch.setenv("ELEVENLABS_BASE_URL", srv.base_url + "/v1/")
    return srv


async def test_streaming_string_reaches_the_server_of_the_variable(
    env_server: FakeElevenLabs,
) -> None:
    """``AgentSession(tts="elevenlabs/multilingual-v2:<voice>")``: the websocket goes there."""
    tts = registry.resolve("tts", "elevenlabs/multilingual-v2:env-voice")
    stream = tts.stream(conn_options=NO_RETRY)
    stream.push_text("From the environment. ")
    stream.end_input()
    frames = [ev async for ev in stream]
    await tts.aclose()

    assert sum(ev.frame.duration for ev in frames) > 0
    (rec,) = env_server.received
    assert (rec.kind, rec.voice_id) == ("ws", "env-voice")
    assert rec.query["model_id"] == "eleven_multilingual_v2"
    assert env_server.violations == []


async def test_rest_string_reaches_the_server_of_the_variable(env_server: FakeElevenLabs) -> None:
    """``v3`` is synthesized over REST, through the SDK client: it honours the variable too."""
    tts = registry.resolve("tts", "elevenlabs/v3:env-voice")
    frame = await tts.synthesize("Over REST.", conn_options=NO_RETRY).collect()
    await tts.aclose()

    assert frame.duration > 0
    (rec,) = env_server.received
    assert (rec.kind, rec.voice_id) == ("rest", "env-voice")
    assert env_server.violations == []


async def test_the_argument_wins_over_the_variable(
    srv: FakeElevenLabs, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ELEVENLABS_BASE_URL", "not a url")  # not even read
    tts = registry.resolve("tts", "elevenlabs", api_key=KEY, base_url=srv.base_url)
    frame = await tts.synthesize("From the argument.", conn_options=NO_RETRY).collect()
    await tts.aclose()
    assert frame.duration > 0 and len(srv.received) == 1


def test_blank_variable_means_elevenlabs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ELEVENLABS_BASE_URL", "")
    tts = elevenlabs.TTS(api_key=KEY, voice="v")
    assert tts._opts.stream_input_url().startswith("wss://api.elevenlabs.io/v1/text-to-speech/v/")


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (SECRET, "does not start with http://, https://, ws:// or wss://"),
        ("api.elevenlabs.io/v1", "does not start with"),
        ("https:///v1", "has no host"),
        (f"https://127.0.0.1:{SECRET}/v1", "port is not a number"),
    ],
)
def test_bad_variable_is_named_without_its_value(
    monkeypatch: pytest.MonkeyPatch, value: str, problem: str
) -> None:
    monkeypatch.setenv("ELEVENLABS_API_KEY", SECRET)
    monkeypatch.setenv("ELEVENLABS_BASE_URL", value)
    with pytest.raises(ValueError, match="ELEVENLABS_BASE_URL") as info:
        registry.resolve("tts", "elevenlabs/flash-v2.5")
    assert problem in str(info.value)
    assert SECRET not in str(info.value) and SECRET not in repr(info.value)


def test_bad_argument_is_named_too() -> None:
    with pytest.raises(ValueError, match="base_url must be an http") as info:
        elevenlabs.TTS(api_key=SECRET, base_url="ftp://api.elevenlabs.io")
    assert "ELEVENLABS_BASE_URL" not in str(info.value)
