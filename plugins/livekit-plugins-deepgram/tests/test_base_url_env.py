"""``DEEPGRAM_BASE_URL``: what provider strings use to reach a self-hosted server, and its errors."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fake_servers.deepgram import FakeDeepgram
from livekit import rtc

from livekit.agents import APIConnectOptions, registry
from livekit.agents.stt import SpeechEventType
from livekit.plugins import deepgram

Tone = Callable[..., list[rtc.AudioFrame]]
NO_RETRY = APIConnectOptions(max_retry=0, timeout=5.0)
SECRET = "dg-this-key-must-not-leak-0123"


async def test_streaming_string_reaches_the_server_of_the_variable(
    dg: FakeDeepgram, make_tone: Tone, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``AgentSession(stt="deepgram/nova-3:de")`` with the variable set: the websocket goes there."""
    monkeypatch.setenv("DEEPGRAM_API_KEY", dg.api_key)
    monkeypatch.setenv("DEEPGRAM_BASE_URL", dg.base_url.replace("http://", "ws://") + "/v1/listen")
    stt = registry.resolve("stt", "deepgram/nova-3:de")
    assert stt.base_url == dg.base_url

    dg.script("aus der Umgebung", after=0.2)
    async with stt.stream(conn_options=NO_RETRY) as stream:
        for frame in make_tone(0.3):
            stream.push_frame(frame)
        async for ev in stream:
            if ev.type == SpeechEventType.FINAL_TRANSCRIPT:
                break
    assert ev.alternatives[0].text == "aus der Umgebung"
    assert dg.sockets[0].query["language"] == "de"
    await stt.aclose()


async def test_the_argument_wins_over_the_variable(
    dg: FakeDeepgram, make_tone: Tone, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEEPGRAM_BASE_URL", "not a url")  # not even read
    stt = registry.resolve("stt", "deepgram/nova-3", api_key=dg.api_key, base_url=dg.base_url)
    dg.script("from the argument")
    event = await stt.recognize(make_tone(0.2), conn_options=NO_RETRY)
    assert event.alternatives[0].text == "from the argument"
    await stt.aclose()


def test_blank_variable_means_deepgram(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEEPGRAM_BASE_URL", " ")
    assert deepgram.STT(api_key="k").base_url == "https://api.deepgram.com"


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (SECRET, "does not start with http://, https://, ws:// or wss://"),
        ("api.deepgram.com/v1/listen", "does not start with"),
        ("wss:///v1/listen", "has no host"),
        (f"https://127.0.0.1:{SECRET}", "port is not a number"),
    ],
)
def test_bad_variable_is_named_without_its_value(
    monkeypatch: pytest.MonkeyPatch, value: str, problem: str
) -> None:
    monkeypatch.setenv("DEEPGRAM_API_KEY", SECRET)
    monkeypatch.setenv("DEEPGRAM_BASE_URL", value)
    with pytest.raises(ValueError, match="DEEPGRAM_BASE_URL") as info:
        registry.resolve("stt", "deepgram/nova-3")
    assert problem in str(info.value)
    assert SECRET not in str(info.value) and SECRET not in repr(info.value)


def test_bad_argument_is_named_too() -> None:
    with pytest.raises(ValueError, match="base_url must be an absolute") as info:
        deepgram.STT(api_key=SECRET, base_url="ftp://api.deepgram.com")
    assert "DEEPGRAM_BASE_URL" not in str(info.value)
