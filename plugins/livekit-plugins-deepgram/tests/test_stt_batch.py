"""Prerecorded recognition, construction errors and resolution by string."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fake_servers.deepgram import FakeDeepgram
from livekit import rtc

from livekit.agents import (
    APIConnectOptions,
    APIStatusError,
    APITimeoutError,
    MissingCredentialsError,
    registry,
)
from livekit.agents.stt import SpeechEventType, StreamAdapter
from livekit.agents.testing.fake_vad import FakeVAD
from livekit.plugins import deepgram

Tone = Callable[..., list[rtc.AudioFrame]]
RETRYING = APIConnectOptions(max_retry=3, retry_interval=0.05, timeout=5.0)


async def test_recognize_posts_a_wav_and_returns_a_final_transcript(
    dg: FakeDeepgram, make_tone: Tone
) -> None:
    dg.script("Prerecorded words.")
    stt = deepgram.STT(api_key=dg.api_key, base_url=dg.base_url, smart_format=True)
    event = await stt.recognize(make_tone(0.5, rate=16000), language="de")
    await stt.aclose()

    assert event.type == SpeechEventType.FINAL_TRANSCRIPT
    assert event.alternatives[0].text == "Prerecorded words."
    assert event.alternatives[0].language == "de"
    assert event.request_id
    post = dg.posts[0]
    assert post.headers["Authorization"] == f"Token {dg.api_key}"
    assert post.query["model"] == "nova-3"
    assert post.query["language"] == "de"
    assert post.query["smart_format"] == "true"
    assert post.extra["audio"] == {"sample_rate": 16000, "channels": 1, "duration": 0.5}
    dg.assert_no_violations()


async def test_recognize_reports_the_detected_language(dg: FakeDeepgram, make_tone: Tone) -> None:
    dg.script("bonjour", language="fr")
    stt = deepgram.STT(api_key=dg.api_key, base_url=dg.base_url, language="multi")
    event = await stt.recognize(make_tone(0.3))
    assert event.alternatives[0].language == "fr"


async def test_recognize_retries_429_and_500(dg: FakeDeepgram, make_tone: Tone) -> None:
    dg.fail_next(429, retry_after=0.1)
    dg.fail_next(500)
    dg.script("third time lucky")
    stt = deepgram.STT(api_key=dg.api_key, base_url=dg.base_url)
    event = await stt.recognize(make_tone(0.2), conn_options=RETRYING)
    assert event.alternatives[0].text == "third time lucky"
    assert len(dg.posts) == 3


async def test_recognize_does_not_retry_a_rejected_key(dg: FakeDeepgram, make_tone: Tone) -> None:
    stt = deepgram.STT(api_key="not-the-key", base_url=dg.base_url)
    with pytest.raises(APIStatusError) as info:
        await stt.recognize(make_tone(0.2), conn_options=RETRYING)
    assert info.value.status_code == 401 and not info.value.retryable
    assert "DEEPGRAM_API_KEY" in str(info.value)
    assert "not-the-key" not in str(info.value)
    assert len(dg.posts) == 1


async def test_recognize_times_out(dg: FakeDeepgram, make_tone: Tone) -> None:
    dg.stall_next()
    stt = deepgram.STT(api_key=dg.api_key, base_url=dg.base_url)
    with pytest.raises(APITimeoutError):
        await stt.recognize(make_tone(0.2), conn_options=APIConnectOptions(max_retry=0, timeout=0.3))


async def test_stream_adapter_uses_the_prerecorded_api(dg: FakeDeepgram, make_tone: Tone) -> None:
    """The batch path is what a VAD-driven StreamAdapter (or a fallback) calls."""
    dg.script("through the adapter")
    stt = deepgram.STT(api_key=dg.api_key, base_url=dg.base_url)
    adapter = StreamAdapter(stt=stt, vad=FakeVAD(min_silence_duration=0.1))
    stream = adapter.stream()
    loud = make_tone(0.4, rate=16000)
    quiet = [rtc.AudioFrame(bytes(320), 16000, 1, 160) for _ in range(30)]
    for frame in loud + quiet:
        stream.push_frame(frame)
    stream.end_input()
    finals = [e async for e in stream if e.type == SpeechEventType.FINAL_TRANSCRIPT]
    assert [e.alternatives[0].text for e in finals] == ["through the adapter"]
    assert len(dg.posts) == 1


def test_missing_key_names_the_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DEEPGRAM_API_KEY", raising=False)
    with pytest.raises(MissingCredentialsError, match="DEEPGRAM_API_KEY") as info:
        deepgram.STT()
    assert info.value.env_var == "DEEPGRAM_API_KEY"
    with pytest.raises(MissingCredentialsError):
        registry.resolve("stt", "deepgram/nova-3")


def test_key_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEEPGRAM_API_KEY", "from-env")
    assert isinstance(deepgram.STT(), deepgram.STT)


def test_bad_options_are_rejected_clearly() -> None:
    with pytest.raises(ValueError, match="base_url"):
        deepgram.STT(api_key="k", base_url="api.deepgram.com")
    with pytest.raises(ValueError, match="keyterms"):
        deepgram.STT(api_key="k", keywords=[("LiveKit", 2.0)])
    with pytest.raises(ValueError, match="nova-3"):
        deepgram.STT(api_key="k", model="nova-2", keyterms=["LiveKit"])
    with pytest.raises(ValueError, match="interim_results"):
        deepgram.STT(api_key="k", interim_results=False, utterance_end_ms=1000)
    with pytest.raises(ValueError, match="sample_rate"):
        deepgram.STT(api_key="k", sample_rate=0)


@pytest.mark.parametrize(
    ("base_url", "http", "ws"),
    [
        ("https://api.deepgram.com", "https://api.deepgram.com", "wss://api.deepgram.com"),
        ("wss://api.deepgram.com/v1/listen", "https://api.deepgram.com", "wss://api.deepgram.com"),
        ("http://127.0.0.1:8080/", "http://127.0.0.1:8080", "ws://127.0.0.1:8080"),
        ("http://proxy.local/deepgram/v1", "http://proxy.local/deepgram", "ws://proxy.local/deepgram"),
    ],
)
def test_base_url_gives_both_transports(base_url: str, http: str, ws: str) -> None:
    from livekit.plugins.deepgram._utils import split_base_url

    assert split_base_url(base_url) == (http, ws)


async def test_resolve_by_string_sets_model_and_language(dg: FakeDeepgram, make_tone: Tone) -> None:
    stt = registry.resolve("stt", "deepgram/nova-3:fr", api_key=dg.api_key, base_url=dg.base_url)
    assert isinstance(stt, deepgram.STT)
    assert stt.model == "nova-3" and stt.provider == "deepgram"
    assert stt.options.language == "fr"

    dg.script("bonjour tout le monde", after=0.2)
    async with stt.stream() as stream:
        for frame in make_tone(0.3):
            stream.push_frame(frame)
        async for ev in stream:
            if ev.type == SpeechEventType.FINAL_TRANSCRIPT:
                break
    assert ev.alternatives[0].text == "bonjour tout le monde"
    assert ev.alternatives[0].language == "fr"
    assert dg.sockets[0].query["language"] == "fr"
    assert dg.sockets[0].query["model"] == "nova-3"


def test_resolve_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEEPGRAM_API_KEY", "k")
    stt = registry.resolve("stt", "deepgram/nova-2")
    assert stt.model == "nova-2" and stt.options.language == "en-US"
    bare = registry.resolve("stt", "deepgram")
    assert bare.model == "nova-3"
    assert registry.resolve("stt", "deepgram/nova-3:multi").options.language == "multi"
    factory = next(p for p in registry.available_providers("stt") if p.name == "deepgram").load()
    assert factory.extra == "deepgram" and "nova-3" in factory.models


async def test_base_url_from_the_environment(
    dg: FakeDeepgram, make_tone: Tone, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What ``AgentSession(stt="deepgram/nova-3")`` needs to reach a self-hosted server."""
    monkeypatch.setenv("DEEPGRAM_API_KEY", dg.api_key)
    monkeypatch.setenv("DEEPGRAM_BASE_URL", dg.base_url)
    stt = registry.resolve("stt", "deepgram/nova-3")
    dg.script("from the environment")
    event = await stt.recognize(make_tone(0.2))
    assert event.alternatives[0].text == "from the environment"
