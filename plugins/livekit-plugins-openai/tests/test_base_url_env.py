"""``OPENAI_BASE_URL``: what provider strings use to reach another server, and its errors."""

from __future__ import annotations

import math
import struct

import pytest
from fake_servers.openai import FakeOpenAI
from livekit import rtc

from livekit.agents import APIConnectOptions, ChatContext, registry
from livekit.plugins import openai

FAST = APIConnectOptions(max_retry=0, timeout=5.0)
SECRET = "sk-this-key-must-not-leak-0123"


def _ctx() -> ChatContext:
    ctx = ChatContext.empty()
    ctx.add_message(role="user", content="Hello!")
    return ctx


def _tone(seconds: float, rate: int = 16000) -> list[rtc.AudioFrame]:
    n = rate // 50
    pcm = [int(6000 * math.sin(2 * math.pi * 300 * i / rate)) for i in range(int(seconds * rate))]
    return [
        rtc.AudioFrame(struct.pack(f"<{n}h", *pcm[k : k + n]), rate, 1, n)
        for k in range(0, len(pcm) - n + 1, n)
    ]


@pytest.fixture
def env_server(srv: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> FakeOpenAI:
    monkeypatch.setenv("OPENAI_API_KEY", srv.api_key or "")
    monkeypatch.setenv("OPENAI_BASE_URL", srv.base_url)
    return srv


async def test_stt_string_reaches_the_server_of_the_variable(env_server: FakeOpenAI) -> None:
    env_server.script_transcription("from the environment")
    stt = registry.resolve("stt", "openai/gpt-4o-mini-transcribe:fr")
    event = await stt.recognize(_tone(0.3), conn_options=FAST)
    assert event.alternatives[0].text == "from the environment"
    assert env_server.transcription_requests[-1].form["language"] == "fr"
    await stt.aclose()


async def test_tts_string_reaches_the_server_of_the_variable(env_server: FakeOpenAI) -> None:
    env_server.script_speech(b"\x01\x00" * 2400)
    tts = registry.resolve("tts", "openai/tts-1:nova")
    frame = await tts.synthesize("Hi.", conn_options=FAST).collect()
    assert frame.duration == pytest.approx(0.1)
    assert env_server.speech_requests[-1].json["voice"] == "nova"
    await tts.aclose()


async def test_llm_string_reaches_the_server_of_the_variable(env_server: FakeOpenAI) -> None:
    llm = registry.resolve("llm", "openai/gpt-4.1-mini")
    assert llm.base_url == env_server.base_url
    response = await llm.chat(chat_ctx=_ctx(), conn_options=FAST).collect()
    assert response.text == env_server.default_reply
    await llm.aclose()


async def test_the_argument_wins_over_the_variable(
    srv: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "not a url")  # not even read
    llm = registry.resolve("llm", "openai/gpt-4o-mini", api_key=srv.api_key, base_url=srv.base_url)
    await llm.chat(chat_ctx=_ctx(), conn_options=FAST).collect()
    assert len(srv.chat_requests) == 1
    await llm.aclose()


def test_blank_variable_means_openai(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "  ")
    assert openai.LLM(api_key="k").base_url == "https://api.openai.com/v1"


@pytest.mark.parametrize("kind", ["llm", "stt", "tts"])
@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (SECRET, "does not start with http:// or https://"),
        ("ftp://files.example.test/v1", "does not start with http:// or https://"),
        ("http:///v1", "has no host"),
        (f"http://127.0.0.1:{SECRET}/v1", "port is not a number"),
    ],
)
def test_bad_variable_is_named_without_its_value(
    monkeypatch: pytest.MonkeyPatch, kind: str, value: str, problem: str
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.setenv("OPENAI_BASE_URL", value)
    with pytest.raises(ValueError, match="OPENAI_BASE_URL") as info:
        registry.resolve(kind, "openai")
    assert problem in str(info.value)
    assert SECRET not in str(info.value) and SECRET not in repr(info.value)


def test_bad_argument_is_named_too() -> None:
    with pytest.raises(ValueError, match="base_url must be an http") as info:
        openai.TTS(api_key=SECRET, base_url="api.openai.com/v1")
    assert "OPENAI_BASE_URL" not in str(info.value)
