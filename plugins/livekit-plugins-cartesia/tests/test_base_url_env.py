"""``CARTESIA_BASE_URL``: what provider strings use to reach another server, and its errors."""

from __future__ import annotations

import pytest
from fake_servers.cartesia import FakeCartesia

from livekit.agents import APIConnectOptions, registry
from livekit.plugins import cartesia

NO_RETRY = APIConnectOptions(max_retry=0, timeout=5.0)
SECRET = "sk_car_this-key-must-not-leak-0123"


async def test_streaming_string_reaches_the_server_of_the_variable(
    srv: FakeCartesia, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``AgentSession(tts="cartesia/sonic-2:<voice>")`` with the variable set: the websocket goes there."""
    monkeypatch.setenv("CARTESIA_API_KEY", srv.api_key)
    monkeypatch.setenv("CARTESIA_BASE_URL", srv.base_url.replace("http://", "ws://") + "/")
    tts = registry.resolve("tts", "cartesia/sonic-2:env-voice")
    stream = tts.stream(conn_options=NO_RETRY)
    stream.push_text("From the environment.")
    stream.end_input()
    frames = [f async for f in stream]
    await tts.aclose()

    assert sum(f.frame.duration for f in frames) > 0
    (socket,) = srv.sockets
    assert socket.headers["Authorization"] == f"Bearer {srv.api_key}"
    assert socket.extra["messages"][0]["voice"] == {"mode": "id", "id": "env-voice"}
    srv.assert_no_violations()


async def test_the_argument_wins_over_the_variable(
    srv: FakeCartesia, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CARTESIA_BASE_URL", "not a url")  # not even read
    tts = registry.resolve("tts", "cartesia", api_key=srv.api_key, base_url=srv.base_url)
    frame = await tts.synthesize("From the argument.", conn_options=NO_RETRY).collect()
    assert frame.duration > 0 and len(srv.posts) == 1
    await tts.aclose()


def test_blank_variable_means_cartesia(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CARTESIA_BASE_URL", "")
    tts = cartesia.TTS(api_key="k")
    assert (tts._http_base, tts._ws_base) == ("https://api.cartesia.ai", "wss://api.cartesia.ai")


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (SECRET, "does not start with http://, https://, ws:// or wss://"),
        ("api.cartesia.ai", "does not start with"),
        ("https://", "has no host"),
        (f"wss://127.0.0.1:{SECRET}", "port is not a number"),
    ],
)
def test_bad_variable_is_named_without_its_value(
    monkeypatch: pytest.MonkeyPatch, value: str, problem: str
) -> None:
    monkeypatch.setenv("CARTESIA_API_KEY", SECRET)
    monkeypatch.setenv("CARTESIA_BASE_URL", value)
    with pytest.raises(ValueError, match="CARTESIA_BASE_URL") as info:
        registry.resolve("tts", "cartesia/sonic-2")
    assert problem in str(info.value)
    assert SECRET not in str(info.value) and SECRET not in repr(info.value)


def test_bad_argument_is_named_too() -> None:
    with pytest.raises(ValueError, match="base_url must be an absolute") as info:
        cartesia.TTS(api_key=SECRET, base_url="ftp://api.cartesia.ai")
    assert "CARTESIA_BASE_URL" not in str(info.value)
