"""ElevenLabs TTS through its real clients (aiohttp websocket, official SDK for REST) against a local fake."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable

import pytest
from fake_servers.elevenlabs import FakeElevenLabs

from livekit.agents import (
    APIConnectionError,
    APIConnectOptions,
    APIStatusError,
    APITimeoutError,
    MissingCredentialsError,
    registry,
)
from livekit.agents.metrics import TTSMetrics
from livekit.agents.tts import SynthesizedAudio, TTSError
from livekit.plugins import elevenlabs
from livekit.plugins.elevenlabs._chunking import TextChunker
from livekit.plugins.elevenlabs._errors import in_band_error

KEY = "el-secret-key-123"
FAST = APIConnectOptions(max_retry=2, retry_interval=0.05, timeout=2.0)
NO_RETRY = APIConnectOptions(max_retry=0, retry_interval=0.05, timeout=0.5)
#: a short silence timeout for the watchdog tests
SHORT = APIConnectOptions(max_retry=0, retry_interval=0.05, timeout=0.3)
#: bounds a test that would hang without the watchdog (far above SHORT.timeout)
GUARD_S = 5.0
VOICE = "voice123"


@pytest.fixture
async def srv() -> AsyncIterator[FakeElevenLabs]:
    async with FakeElevenLabs(api_key=KEY, ms_per_char=10) as server:
        yield server


@pytest.fixture
async def tts(srv: FakeElevenLabs) -> AsyncIterator[elevenlabs.TTS]:
    t = elevenlabs.TTS(api_key=KEY, base_url=srv.base_url, voice=VOICE)
    yield t
    await t.aclose()


def _errors(t: elevenlabs.TTS) -> list[TTSError]:
    seen: list[TTSError] = []
    t.on("error", seen.append)
    return seen


async def _drain(it: AsyncIterator[SynthesizedAudio]) -> list[SynthesizedAudio]:
    return [ev async for ev in it]


def _duration(events: list[SynthesizedAudio]) -> float:
    return sum(ev.frame.duration for ev in events)


async def _until(condition: Callable[[], bool]) -> None:
    """Wait (bounded) until ``condition()`` holds."""

    async def poll() -> None:
        while not condition():
            await asyncio.sleep(0.01)

    await asyncio.wait_for(poll(), GUARD_S)


async def _consume(stream: AsyncIterator[SynthesizedAudio]) -> None:
    """Read a stream whose input is still open until it fails (bounded, so a hang fails)."""

    async def read() -> None:
        async for _ in stream:
            pass

    await asyncio.wait_for(read(), GUARD_S)


# -- provider strings and construction ---------------------------------------------------------


def test_resolves_short_model_names_and_voice_variant() -> None:
    t = registry.resolve("tts", f"elevenlabs/multilingual-v2:{VOICE}", api_key=KEY)
    assert isinstance(t, elevenlabs.TTS)
    assert (t.model, t.voice, t.provider) == ("eleven_multilingual_v2", VOICE, "elevenlabs")
    assert t.capabilities.streaming
    assert (
        registry.resolve("tts", "elevenlabs/flash-v2.5", api_key=KEY).model == "eleven_flash_v2_5"
    )
    assert (
        registry.resolve("tts", "elevenlabs/turbo-v2.5", api_key=KEY).model == "eleven_turbo_v2_5"
    )
    full = registry.resolve("tts", "elevenlabs/eleven_turbo_v2:other", api_key=KEY)
    assert (full.model, full.voice) == ("eleven_turbo_v2", "other")


def test_default_model_and_voice() -> None:
    t = registry.resolve("tts", "elevenlabs", api_key=KEY)
    assert t.model == "eleven_flash_v2_5"
    assert t.voice == elevenlabs.tts.DEFAULT_VOICE_ID
    assert t.sample_rate == 24000


def test_v3_is_not_streamed_over_the_websocket() -> None:
    t = registry.resolve("tts", "elevenlabs/v3", api_key=KEY)
    assert t.model == "eleven_v3"
    assert not t.capabilities.streaming


def test_missing_key_names_the_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ELEVEN_API_KEY", raising=False)
    monkeypatch.delenv("ELEVENLABS_API_KEY", raising=False)
    with pytest.raises(MissingCredentialsError) as exc:
        registry.resolve("tts", "elevenlabs/multilingual-v2")
    assert "ELEVEN_API_KEY" in str(exc.value) and "ELEVENLABS_API_KEY" in str(exc.value)
    assert exc.value.env_var == "ELEVEN_API_KEY"


def test_key_from_either_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ELEVEN_API_KEY", raising=False)
    monkeypatch.setenv("ELEVENLABS_API_KEY", "k2")
    assert elevenlabs.TTS()._opts.api_key == "k2"
    monkeypatch.setenv("ELEVEN_API_KEY", "k1")
    assert elevenlabs.TTS()._opts.api_key == "k1"


def test_bad_options_are_rejected_clearly() -> None:
    with pytest.raises(ValueError, match="8000, 16000"):
        elevenlabs.TTS(api_key=KEY, sample_rate=11025)
    with pytest.raises(ValueError, match="chunk_length_schedule"):
        elevenlabs.TTS(api_key=KEY, chunk_length_schedule=[10])
    with pytest.raises(ValueError, match="base_url"):
        elevenlabs.TTS(api_key=KEY, base_url="api.elevenlabs.io")


def test_base_url_accepts_the_v1_spelling() -> None:
    t = elevenlabs.TTS(api_key=KEY, base_url="https://example.test/v1/", voice="v")
    assert t._opts.stream_input_url().startswith(
        "wss://example.test/v1/text-to-speech/v/stream-input?"
    )


# -- text chunking -----------------------------------------------------------------------------


def test_chunker_sends_whole_words_ending_with_a_space() -> None:
    c = TextChunker()
    assert c.push("Hel") == []
    assert c.push("lo wor") == [("Hello ", False)]
    assert c.push("ld. How a") == [("world. How ", False)]
    assert c.push("re you? ") == [("are you? ", True)]
    assert c.push("Fine") == []
    assert c.flush() == "Fine "
    assert c.flush() == ""


def test_chunker_marks_sentence_ends_but_not_abbreviations() -> None:
    c = TextChunker()
    assert c.push("Ask Dr. ") == [("Ask Dr. ", False)]
    assert c.push("Who. ") == [("Who. ", True)]


def test_chunker_in_sentence_mode_holds_words_until_the_sentence_ends() -> None:
    c = TextChunker(sentences_only=True)
    assert c.push("Hello there, ") == []
    assert c.push("friend. And ") == [("Hello there, friend. ", True)]
    assert c.flush() == "And "


def test_in_band_errors_are_classified() -> None:
    auth = in_band_error({"message": "Invalid API key", "error": "invalid_api_key", "code": 1008})
    assert isinstance(auth, APIStatusError) and auth.status_code == 401 and not auth.retryable
    busy = in_band_error({"message": "busy", "error": "too_many_concurrent_requests"})
    assert isinstance(busy, APIStatusError) and busy.retryable
    other = in_band_error({"message": "boom", "error": "internal"})
    assert other.retryable and "boom" in str(other)


# -- streaming websocket: happy paths ----------------------------------------------------------


async def test_stream_first_audio_arrives_before_the_input_ends(
    srv: FakeElevenLabs, tts: elevenlabs.TTS
) -> None:
    stream = tts.stream(conn_options=FAST)
    async with stream:
        stream.push_text("Hello there, ")
        stream.push_text("how are you? ")
        first = await stream.__anext__()
        assert first.frame.sample_rate == 24000 and first.frame.num_channels == 1
        # the server has not been told that the text ended
        rec = srv.received[0]
        assert {"text": ""} not in rec.messages
        stream.push_text("I am fine, thank")
        stream.push_text(" you.")
        stream.end_input()
        rest = await _drain(stream)

    rec = srv.received[0]
    assert rec.kind == "ws" and rec.voice_id == VOICE
    assert rec.query["model_id"] == "eleven_flash_v2_5"
    assert rec.query["output_format"] == "pcm_24000"
    assert rec.headers["xi-api-key"] == KEY
    init = rec.messages[0]
    assert init["text"] == " " and init["xi-api-key"] == KEY
    assert rec.messages[-1] == {"text": ""}
    assert rec.messages[1] == {
        "text": "Hello there, ",
    }
    assert rec.messages[2] == {"text": "how are you? ", "try_trigger_generation": True}
    assert rec.text.split() == [
        "Hello",
        "there,",
        "how",
        "are",
        "you?",
        "I",
        "am",
        "fine,",
        "thank",
        "you.",
    ]
    assert srv.violations == []
    # all generated audio reached the caller, at the requested rate
    chars = sum(len(g) for g in rec.generations)
    assert _duration([first, *rest]) == pytest.approx(chars * 0.010, abs=0.002)
    assert all(ev.frame.sample_rate == 24000 for ev in rest)


async def test_stream_voice_settings_schedule_and_rate(srv: FakeElevenLabs) -> None:
    tts = elevenlabs.TTS(
        api_key=KEY,
        base_url=srv.base_url,
        model="multilingual-v2",
        voice="v2",
        sample_rate=16000,
        voice_settings={"stability": 0.4, "similarity_boost": 0.8},
        chunk_length_schedule=[50, 120],
        language="de",
    )
    async with tts:
        stream = tts.stream(conn_options=FAST)
        stream.push_text("Guten Tag. ")
        stream.end_input()
        events = await _drain(stream)
    rec = srv.received[0]
    assert rec.query["output_format"] == "pcm_16000"
    assert rec.query["model_id"] == "eleven_multilingual_v2" and rec.voice_id == "v2"
    assert rec.query["language_code"] == "de"
    assert rec.messages[0]["voice_settings"] == {"stability": 0.4, "similarity_boost": 0.8}
    assert rec.messages[0]["generation_config"] == {"chunk_length_schedule": [50, 120]}
    assert events and all(ev.frame.sample_rate == 16000 for ev in events)
    assert srv.violations == []


async def test_stream_auto_mode_sends_whole_sentences(srv: FakeElevenLabs) -> None:
    async with elevenlabs.TTS(api_key=KEY, base_url=srv.base_url, auto_mode=True) as tts:
        stream = tts.stream(conn_options=FAST)
        for token in ["One ", "two", " three. ", "Four ", "five."]:
            stream.push_text(token)
        stream.end_input()
        await _drain(stream)
    rec = srv.received[0]
    assert rec.query["auto_mode"] == "true"
    texts = [m["text"] for m in rec.messages[1:]]
    assert texts == ["One two three. ", "Four five. ", ""]
    assert srv.violations == []


async def test_stream_flush_forces_generation(srv: FakeElevenLabs, tts: elevenlabs.TTS) -> None:
    stream = tts.stream(conn_options=FAST)
    async with stream:
        stream.push_text("no sentence end here")
        stream.flush()
        first = await stream.__anext__()
        assert first.frame.duration > 0
        stream.end_input()
        await _drain(stream)
    flush = srv.received[0].messages[2]
    assert flush == {"text": "here ", "flush": True}


# -- streaming websocket: faults ---------------------------------------------------------------


async def test_stream_rejected_key_is_not_retried(srv: FakeElevenLabs) -> None:
    async with elevenlabs.TTS(api_key="wrong-key-456", base_url=srv.base_url) as tts:
        errors = _errors(tts)
        stream = tts.stream(conn_options=FAST)
        stream.push_text("Hello. ")
        stream.end_input()
        with pytest.raises(APIStatusError) as exc:
            await _drain(stream)
    assert exc.value.status_code == 401 and not exc.value.retryable
    assert "rejected the API key" in str(exc.value)
    assert "wrong-key-456" not in str(exc.value)
    assert len(srv.received) == 1
    assert [e.recoverable for e in errors] == [False]


async def test_stream_forbidden_is_not_retried(srv: FakeElevenLabs, tts: elevenlabs.TTS) -> None:
    srv.fail_next(403)
    stream = tts.stream(conn_options=FAST)
    stream.push_text("Hello. ")
    stream.end_input()
    with pytest.raises(APIStatusError) as exc:
        await _drain(stream)
    assert exc.value.status_code == 403 and not exc.value.retryable
    assert "rejected the API key" in str(exc.value) and "ELEVEN_API_KEY" in str(exc.value)
    assert len(srv.received) == 1


async def test_stream_metrics_are_reported(srv: FakeElevenLabs, tts: elevenlabs.TTS) -> None:
    metrics: list[TTSMetrics] = []
    tts.on("metrics_collected", metrics.append)
    stream = tts.stream(conn_options=FAST)
    stream.push_text("Counted ")
    stream.push_text("characters. ")
    stream.end_input()
    events = await _drain(stream)
    (m,) = metrics
    assert m.streamed and m.characters_count == len("Counted characters. ")
    assert m.audio_duration == pytest.approx(_duration(events))
    assert (m.model, m.provider) == ("eleven_flash_v2_5", "elevenlabs")
    assert m.request_id == events[0].request_id and 0 <= m.ttfb <= m.duration


async def test_key_never_reaches_the_logs(
    srv: FakeElevenLabs, tts: elevenlabs.TTS, caplog: pytest.LogCaptureFixture
) -> None:
    """At DEBUG level, through retries (websocket and REST) and a rejected key."""
    caplog.set_level(logging.DEBUG)
    srv.fail_next(500)
    stream = tts.stream(conn_options=FAST)
    stream.push_text("Over the websocket. ")
    stream.end_input()
    assert await _drain(stream)
    srv.fail_next(500)
    assert (await tts.synthesize("Over REST.", conn_options=FAST).collect()).duration > 0
    async with elevenlabs.TTS(api_key="wrong-key-456", base_url=srv.base_url) as wrong:
        with pytest.raises(APIStatusError):
            await wrong.synthesize("Hello.", conn_options=FAST).collect()
        bad = wrong.stream(conn_options=FAST)
        bad.push_text("Hello. ")
        bad.end_input()
        with pytest.raises(APIStatusError):
            await _drain(bad)
    assert "retrying" in caplog.text  # the retries were logged...
    assert KEY not in caplog.text and "wrong-key-456" not in caplog.text  # ...without a key


async def test_stream_429_honours_retry_after(srv: FakeElevenLabs, tts: elevenlabs.TTS) -> None:
    errors = _errors(tts)
    srv.fail_next(429, retry_after=0.3)
    stream = tts.stream(conn_options=FAST)
    stream.push_text("Hello. ")
    stream.end_input()
    events = await _drain(stream)
    assert events
    assert [r.status for r in srv.received] == [429, 101]
    assert srv.received[1].at - srv.received[0].at >= 0.3
    err = errors[0].error
    assert isinstance(err, APIStatusError) and err.status_code == 429 and err.retry_after == 0.3


async def test_stream_500_is_retried(srv: FakeElevenLabs, tts: elevenlabs.TTS) -> None:
    srv.fail_next(500)
    stream = tts.stream(conn_options=FAST)
    stream.push_text("Hello. ")
    stream.end_input()
    assert await _drain(stream)
    assert [r.status for r in srv.received] == [500, 101]


async def test_stream_gives_up_after_the_retry_budget(
    srv: FakeElevenLabs, tts: elevenlabs.TTS
) -> None:
    srv.fail_next(503, times=3)
    stream = tts.stream(conn_options=FAST)
    stream.push_text("Hello. ")
    stream.end_input()
    with pytest.raises(APIStatusError) as exc:
        await _drain(stream)
    assert exc.value.status_code == 503
    assert len(srv.received) == 3


async def test_stream_drop_before_audio_is_retried_with_the_same_text(
    srv: FakeElevenLabs, tts: elevenlabs.TTS
) -> None:
    srv.disconnect_next(after=0)
    stream = tts.stream(conn_options=FAST)
    stream.push_text("Hello there. ")
    stream.push_text("More text.")
    stream.end_input()
    events = await _drain(stream)
    assert events
    assert len(srv.received) == 2
    assert srv.received[1].text.split() == ["Hello", "there.", "More", "text."]


async def test_stream_drop_after_audio_is_an_error(
    srv: FakeElevenLabs, tts: elevenlabs.TTS
) -> None:
    srv.disconnect_next(after=2)
    stream = tts.stream(conn_options=FAST)
    stream.push_text("Hello there, this is a long enough sentence. ")
    stream.end_input()
    got: list[SynthesizedAudio] = []
    with pytest.raises(APIConnectionError):
        async for ev in stream:
            got.append(ev)
    assert got  # the audio before the drop was delivered
    assert len(srv.received) == 1  # never repeated after audio was played


async def test_stream_stall_times_out(srv: FakeElevenLabs, tts: elevenlabs.TTS) -> None:
    srv.stall_next(after=0)
    stream = tts.stream(conn_options=NO_RETRY)
    stream.push_text("Hello. ")
    stream.end_input()
    with pytest.raises(APITimeoutError):
        await _drain(stream)


async def test_stream_stall_after_audio_times_out(srv: FakeElevenLabs, tts: elevenlabs.TTS) -> None:
    srv.stall_next(after=1)
    stream = tts.stream(conn_options=NO_RETRY)
    stream.push_text("Hello there, this is a long enough sentence. ")
    stream.end_input()
    got: list[SynthesizedAudio] = []
    with pytest.raises(APITimeoutError):
        async for ev in stream:
            got.append(ev)
    assert len(srv.received) == 1


async def test_stream_stall_after_a_mid_stream_flush_times_out(
    srv: FakeElevenLabs, tts: elevenlabs.TTS
) -> None:
    """Flushed text is owed audio while the input stays open: a server that goes silent after
    the first chunk of it fails the stream instead of leaving the agent silent."""
    errors = _errors(tts)
    srv.stall_next(after=1)
    stream = tts.stream(conn_options=SHORT)
    stream.push_text("Hello there, this is a long enough sentence")
    stream.flush()
    with pytest.raises(APITimeoutError, match="ElevenLabs sent nothing"):
        await _consume(stream)
    await stream.aclose()
    rec = srv.received[0]
    assert rec.messages[-1]["flush"] is True and {"text": ""} not in rec.messages
    assert 0 < rec.audio_bytes < 0.43 * 24000 * 2  # it stalled part way through the audio
    assert [type(e.error) for e in errors] == [APITimeoutError]
    assert len(srv.received) == 1


async def test_stream_stall_before_the_flushed_text_is_voiced_times_out(
    srv: FakeElevenLabs, tts: elevenlabs.TTS
) -> None:
    """Audio for an earlier sentence arriving after a flush does not settle what the flush is
    owed: the server stalls before voicing the flushed text, and the stream fails."""
    srv.stall_next(after=3)  # "Hello there." is 120 ms: three 40 ms chunks, then silence
    stream = tts.stream(conn_options=SHORT)
    stream.push_text("Hello there. ")
    stream.push_text("And then some more words")
    stream.flush()
    with pytest.raises(APITimeoutError, match="ElevenLabs sent nothing"):
        await _consume(stream)
    await stream.aclose()
    rec = srv.received[0]
    assert rec.audio_bytes == round(0.120 * 24000) * 2  # only the first sentence was voiced
    assert {"text": ""} not in rec.messages


async def test_stream_idle_without_a_flush_is_not_a_stall(
    srv: FakeElevenLabs, tts: elevenlabs.TTS
) -> None:
    """Text pushed but not flushed is owed nothing: a quiet socket is only waiting for more."""
    errors = _errors(tts)
    stream = tts.stream(conn_options=SHORT)
    async with stream:
        stream.push_text("words that keep ")
        stream.push_text("coming slowly and")
        await _until(lambda: bool(srv.received) and len(srv.received[0].messages) >= 3)
        await asyncio.sleep(SHORT.timeout * 3)  # quiet for well over the timeout
        assert errors == [] and srv.received[0].generations == []
        stream.push_text(" then end.")
        stream.flush()
        stream.end_input()
        events = await _drain(stream)
    rec = srv.received[0]
    assert errors == [] and len(srv.received) == 1
    words = ["words", "that", "keep", "coming", "slowly", "and", "then", "end."]
    assert rec.text.split() == words
    chars = sum(len(g) for g in rec.generations)
    assert _duration(events) == pytest.approx(chars * 0.010, abs=0.002)


@pytest.mark.parametrize("alignment", [True, False], ids=["aligned", "no-alignment"])
async def test_stream_idle_after_the_flushed_audio_is_not_a_stall(alignment: bool) -> None:
    """Once the flushed text is fully voiced nothing is owed, so the socket may stay quiet while
    the input is open (an LLM pausing mid-reply), with or without alignment from the server."""
    async with FakeElevenLabs(api_key=KEY, ms_per_char=10, alignment=alignment) as srv:
        tts = elevenlabs.TTS(api_key=KEY, base_url=srv.base_url, voice=VOICE)
        errors = _errors(tts)
        async with tts, tts.stream(conn_options=SHORT) as stream:
            stream.push_text("The first part")
            stream.flush()
            first = await asyncio.wait_for(stream.__anext__(), GUARD_S)
            full = round(len("The first part") * 0.010 * 24000) * 2
            await _until(lambda: srv.received[0].audio_bytes == full)
            await asyncio.sleep(SHORT.timeout * 3)  # quiet for well over the timeout
            assert errors == []
            stream.push_text(" and the rest.")
            stream.end_input()
            rest = await _drain(stream)
        rec = srv.received[0]
        assert errors == [] and len(srv.received) == 1
        assert rec.generations == ["The first part", "and the rest."]
        chars = sum(len(g) for g in rec.generations)
        assert _duration([first, *rest]) == pytest.approx(chars * 0.010, abs=0.002)


@pytest.mark.parametrize("alignment", [True, False], ids=["aligned", "no-alignment"])
async def test_stream_flush_after_the_audio_arrived_is_not_a_stall(alignment: bool) -> None:
    """A sentence end already triggers generation; a flush() after its audio arrived adds nothing
    the server owes, so no answer to it is awaited."""
    async with FakeElevenLabs(api_key=KEY, ms_per_char=10, alignment=alignment) as srv:
        tts = elevenlabs.TTS(api_key=KEY, base_url=srv.base_url, voice=VOICE)
        errors = _errors(tts)
        async with tts, tts.stream(conn_options=SHORT) as stream:
            stream.push_text("Hello there. ")
            full = round(len("Hello there.") * 0.010 * 24000) * 2
            await _until(lambda: bool(srv.received) and srv.received[0].audio_bytes == full)
            stream.flush()
            await _until(lambda: srv.received[0].messages[-1].get("flush") is True)
            await asyncio.sleep(SHORT.timeout * 3)  # quiet for well over the timeout
            assert errors == []
            stream.push_text("Bye.")
            stream.end_input()
            events = await _drain(stream)
        rec = srv.received[0]
        assert errors == [] and len(srv.received) == 1
        assert rec.generations == ["Hello there.", "Bye."]
        assert _duration(events) == pytest.approx(len("Hello there.Bye.") * 0.010, abs=0.002)


async def test_stream_unreachable_server_is_a_connection_error() -> None:
    srv = FakeElevenLabs(api_key=KEY)
    await srv.start()
    url = srv.base_url
    await srv.close()  # nothing listens there any more
    async with elevenlabs.TTS(api_key=KEY, base_url=url) as tts:
        stream = tts.stream(
            conn_options=APIConnectOptions(max_retry=1, retry_interval=0.01, timeout=1)
        )
        stream.push_text("Hi. ")
        stream.end_input()
        with pytest.raises(APIConnectionError):
            await _drain(stream)


# -- REST (official SDK) -----------------------------------------------------------------------


async def test_synthesize_streams_pcm_from_rest(srv: FakeElevenLabs) -> None:
    async with elevenlabs.TTS(
        api_key=KEY,
        base_url=srv.base_url,
        voice=VOICE,
        model="turbo-v2.5",
        voice_settings=elevenlabs.VoiceSettings(stability=0.3, speed=1.1),
    ) as tts:
        frame = await tts.synthesize("Hello from the REST endpoint.", conn_options=FAST).collect()
    rec = srv.received[0]
    assert rec.kind == "rest" and rec.voice_id == VOICE
    assert rec.headers["xi-api-key"] == KEY
    assert rec.query["output_format"] == "pcm_24000"
    assert rec.body["model_id"] == "eleven_turbo_v2_5"
    assert rec.body["text"] == "Hello from the REST endpoint."
    assert rec.body["voice_settings"] == {"stability": 0.3, "speed": 1.1}
    assert frame.sample_rate == 24000
    assert frame.duration == pytest.approx(len("Hello from the REST endpoint.") * 0.010, abs=0.002)
    assert srv.violations == []


async def test_v3_synthesizes_over_rest(srv: FakeElevenLabs) -> None:
    async with elevenlabs.TTS(api_key=KEY, base_url=srv.base_url, model="v3") as tts:
        frame = await tts.synthesize("Hi.", conn_options=FAST).collect()
    assert frame.duration > 0 and srv.received[0].body["model_id"] == "eleven_v3"


async def test_rest_rejected_key_is_not_retried(srv: FakeElevenLabs) -> None:
    async with elevenlabs.TTS(api_key="wrong-key-456", base_url=srv.base_url) as tts:
        with pytest.raises(APIStatusError) as exc:
            await tts.synthesize("Hello.", conn_options=FAST).collect()
    assert exc.value.status_code == 401 and not exc.value.retryable
    assert "rejected the API key" in str(exc.value) and "wrong-key-456" not in str(exc.value)
    assert len(srv.received) == 1


async def test_rest_metrics_are_reported(srv: FakeElevenLabs, tts: elevenlabs.TTS) -> None:
    metrics: list[TTSMetrics] = []
    tts.on("metrics_collected", metrics.append)
    frame = await tts.synthesize("Over REST.", conn_options=FAST).collect()
    (m,) = metrics
    assert not m.streamed and m.characters_count == len("Over REST.")
    assert m.audio_duration == pytest.approx(frame.duration)
    assert (m.model, m.provider) == ("eleven_flash_v2_5", "elevenlabs")


async def test_rest_429_honours_retry_after(srv: FakeElevenLabs, tts: elevenlabs.TTS) -> None:
    errors = _errors(tts)
    srv.fail_next(429, retry_after=0.3)
    frame = await tts.synthesize("Hello.", conn_options=FAST).collect()
    assert frame.duration > 0
    assert [r.status for r in srv.received] == [429, 200]
    assert srv.received[1].at - srv.received[0].at >= 0.3
    err = errors[0].error
    assert isinstance(err, APIStatusError) and err.retry_after == 0.3 and err.retryable


async def test_rest_500_is_retried(srv: FakeElevenLabs, tts: elevenlabs.TTS) -> None:
    srv.fail_next(500)
    assert (await tts.synthesize("Hello.", conn_options=FAST).collect()).duration > 0
    assert [r.status for r in srv.received] == [500, 200]


async def test_rest_drop_before_audio_is_retried(srv: FakeElevenLabs, tts: elevenlabs.TTS) -> None:
    srv.disconnect_next(after=0)
    assert (await tts.synthesize("Hello.", conn_options=FAST).collect()).duration > 0
    assert len(srv.received) == 2


async def test_rest_drop_after_audio_is_an_error(srv: FakeElevenLabs, tts: elevenlabs.TTS) -> None:
    srv.disconnect_next(after=2)
    with pytest.raises(APIConnectionError):
        await tts.synthesize(
            "A sentence long enough for several chunks.", conn_options=FAST
        ).collect()
    assert len(srv.received) == 1


async def test_rest_stall_times_out(srv: FakeElevenLabs, tts: elevenlabs.TTS) -> None:
    srv.stall_next(after=1)
    with pytest.raises(APITimeoutError):
        await tts.synthesize(
            "A sentence long enough for several chunks.", conn_options=NO_RETRY
        ).collect()


def test_messages_are_json_serializable_voice_settings() -> None:
    vs = elevenlabs.VoiceSettings(stability=0.5, use_speaker_boost=True)
    assert json.loads(json.dumps(vs.to_json())) == {"stability": 0.5, "use_speaker_boost": True}
