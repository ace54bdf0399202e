"""``AZURE_SPEECH_HOST``: what provider strings use to reach a custom endpoint, and its errors."""

from __future__ import annotations

import math
from array import array
from collections.abc import AsyncIterator

import pytest
from fake_servers.azure import FakeAzureSpeech
from livekit import rtc

from livekit.agents import APIConnectOptions, MissingCredentialsError, registry
from livekit.agents.stt import SpeechEventType
from livekit.plugins import azure

KEY = "az-secret-key-123"
NO_RETRY = APIConnectOptions(max_retry=0, timeout=5.0)
SECRET = "this-azure-key-must-not-leak-0123"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("AZURE_SPEECH_HOST", "AZURE_SPEECH_KEY", "AZURE_SPEECH_REGION"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
async def srv() -> AsyncIterator[FakeAzureSpeech]:
    async with FakeAzureSpeech(api_key=KEY, ms_per_char=5) as server:
        yield server


@pytest.fixture
def env_server(srv: FakeAzureSpeech, monkeypatch: pytest.MonkeyPatch) -> FakeAzureSpeech:
    """The environment of a container deployment; the host wins over the region variable."""
    monkeypatch.setenv("AZURE_SPEECH_KEY", KEY)
    monkeypatch.setenv("AZURE_SPEECH_REGION", "westus")
    monkeypatch.setenv("AZURE_SPEECH_HOST", srv.base_url.replace("http://", "ws://") + "/")
    return srv


def _utterance(rate: int = 16000) -> list[rtc.AudioFrame]:
    """0.2 s of silence, 0.8 s of a 300 Hz tone, 0.4 s of silence, in 20 ms frames."""
    n = rate // 50
    frames: list[rtc.AudioFrame] = []
    for k in range(70):
        loud = 10 <= k < 50
        samples = array(
            "h",
            (
                int(8000 * math.sin(2 * math.pi * 300 * (k * n + i) / rate)) if loud else 0
                for i in range(n)
            ),
        )
        frames.append(rtc.AudioFrame(samples.tobytes(), rate, 1, n))
    return frames


async def test_stt_string_reaches_the_host_of_the_variable(env_server: FakeAzureSpeech) -> None:
    """``AgentSession(stt="azure/speech:fr-FR")`` with the variable set: the websocket goes there."""
    env_server.transcripts = ["Bonjour."]
    stt = registry.resolve("stt", "azure/speech:fr-FR")
    stream = stt.stream(conn_options=NO_RETRY)
    for frame in _utterance():
        stream.push_frame(frame)
    stream.end_input()
    finals = [
        ev.alternatives[0].text
        async for ev in stream
        if ev.type == SpeechEventType.FINAL_TRANSCRIPT
    ]
    await stt.aclose()

    assert finals == ["Bonjour."]
    (rec,) = env_server.received
    assert rec.kind == "ws" and rec.query["language"] == "fr-FR"
    assert rec.headers["ocp-apim-subscription-key"] == KEY
    assert env_server.violations == []


async def test_tts_string_reaches_the_host_of_the_variable(env_server: FakeAzureSpeech) -> None:
    tts = registry.resolve("tts", "azure/neural:de-DE-KatjaNeural")
    frame = await tts.synthesize("Aus der Umgebung.", conn_options=NO_RETRY).collect()
    await tts.aclose()

    assert frame.duration > 0
    (rec,) = env_server.received
    assert (rec.voice, rec.language) == ("de-DE-KatjaNeural", "de-DE")
    assert env_server.violations == []


async def test_arguments_win_over_the_variable(
    srv: FakeAzureSpeech, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AZURE_SPEECH_HOST", "not a url")  # not even read
    tts = registry.resolve("tts", "azure/neural", api_key=KEY, base_url=srv.base_url)
    frame = await tts.synthesize("From the argument.", conn_options=NO_RETRY).collect()
    await tts.aclose()
    assert frame.duration > 0 and len(srv.received) == 1
    # an explicit region is an argument too
    by_region = azure.TTS(api_key=KEY, region="northeurope")
    assert (
        by_region._opts.url == "https://northeurope.tts.speech.microsoft.com/cognitiveservices/v1"
    )


def test_without_host_the_region_variable_applies(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_SPEECH_KEY", KEY)
    monkeypatch.setenv("AZURE_SPEECH_REGION", "westeurope")
    monkeypatch.setenv("AZURE_SPEECH_HOST", "  ")
    stt = registry.resolve("stt", "azure/speech")
    assert stt._opts.ws_url("en-US").startswith("wss://westeurope.stt.speech.microsoft.com/")


def test_missing_region_mentions_the_host_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_SPEECH_KEY", KEY)
    with pytest.raises(MissingCredentialsError) as info:
        registry.resolve("tts", "azure/neural")
    assert "AZURE_SPEECH_REGION" in str(info.value) and "AZURE_SPEECH_HOST" in str(info.value)
    assert info.value.env_var == "AZURE_SPEECH_REGION"


@pytest.mark.parametrize("kind", ["stt", "tts"])
@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (SECRET, "does not start with http://, https://, ws:// or wss://"),
        ("localhost:5000", "does not start with"),
        ("ws://", "has no host"),
        (f"ws://localhost:{SECRET}", "port is not a number"),
    ],
)
def test_bad_variable_is_named_without_its_value(
    monkeypatch: pytest.MonkeyPatch, kind: str, value: str, problem: str
) -> None:
    monkeypatch.setenv("AZURE_SPEECH_KEY", SECRET)
    monkeypatch.setenv("AZURE_SPEECH_HOST", value)
    with pytest.raises(ValueError, match="AZURE_SPEECH_HOST") as info:
        registry.resolve(kind, "azure")
    assert problem in str(info.value)
    assert SECRET not in str(info.value) and SECRET not in repr(info.value)


def test_bad_argument_is_named_too() -> None:
    with pytest.raises(ValueError, match="base_url must be a URL") as info:
        azure.STT(api_key=SECRET, base_url="westus.stt.speech.microsoft.com")
    assert "AZURE_SPEECH_HOST" not in str(info.value)
