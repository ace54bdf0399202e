"""Azure Speech STT through its real client (aiohttp, the Speech websocket protocol and REST) against a local fake."""

from __future__ import annotations

import logging
import math
from array import array
from collections.abc import AsyncIterator

import pytest
from fake_servers.azure import FakeAzureSpeech
from livekit import rtc

from livekit.agents import (
    APIConnectionError,
    APIConnectOptions,
    APIError,
    APIStatusError,
    APITimeoutError,
    MissingCredentialsError,
    registry,
)
from livekit.agents.stt import RecognizeStream, SpeechEvent, SpeechEventType, STTError
from livekit.plugins import azure
from livekit.plugins.azure._errors import close_error

KEY = "az-secret-key-123"
FAST = APIConnectOptions(max_retry=2, retry_interval=0.05, timeout=2.0)
NO_RETRY = APIConnectOptions(max_retry=0, retry_interval=0.05, timeout=0.5)
T = SpeechEventType


def _frames(pattern: list[tuple[str, float]], rate: int = 16000) -> list[rtc.AudioFrame]:
    """20 ms frames of a 300 Hz tone ("speech") or zeros ("silence")."""
    n = rate // 50
    out: list[rtc.AudioFrame] = []
    phase = 0
    for kind, seconds in pattern:
        for _ in range(round(seconds / 0.02)):
            if kind == "speech":
                samples = array(
                    "h",
                    (
                        int(8000 * math.sin(2 * math.pi * 300 * (phase + i) / rate))
                        for i in range(n)
                    ),
                )
            else:
                samples = array("h", bytes(2 * n))
            phase += n
            out.append(rtc.AudioFrame(samples.tobytes(), rate, 1, n))
    return out


UTTERANCE = [("silence", 0.2), ("speech", 0.8), ("silence", 0.4)]


@pytest.fixture
async def srv() -> AsyncIterator[FakeAzureSpeech]:
    async with FakeAzureSpeech(api_key=KEY) as server:
        yield server


@pytest.fixture
async def stt(srv: FakeAzureSpeech) -> AsyncIterator[azure.STT]:
    s = azure.STT(api_key=KEY, base_url=srv.base_url)
    yield s
    await s.aclose()


async def _run(stream: RecognizeStream, frames: list[rtc.AudioFrame]) -> list[SpeechEvent]:
    for f in frames:
        stream.push_frame(f)
    stream.end_input()
    return [ev async for ev in stream]


def _types(events: list[SpeechEvent]) -> list[SpeechEventType]:
    return [ev.type for ev in events]


def _finals(events: list[SpeechEvent]) -> list[str]:
    return [ev.alternatives[0].text for ev in events if ev.type == T.FINAL_TRANSCRIPT]


def _errors(s: azure.STT) -> list[STTError]:
    seen: list[STTError] = []
    s.on("error", seen.append)
    return seen


# -- provider strings and construction ---------------------------------------------------------


def test_resolves_language_variant(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_SPEECH_KEY", KEY)
    monkeypatch.setenv("AZURE_SPEECH_REGION", "westeurope")
    s = registry.resolve("stt", "azure/speech:fr-FR")
    assert isinstance(s, azure.STT)
    assert (s.language, s.model, s.provider) == ("fr-FR", "speech", "azure")
    assert s._opts.ws_url("fr-FR").startswith(
        "wss://westeurope.stt.speech.microsoft.com/speech/recognition/conversation/cognitiveservices/v1?language=fr-FR"
    )
    assert registry.resolve("stt", "azure/speech").language == "en-US"
    assert registry.resolve("stt", "azure").language == "en-US"
    assert s.capabilities.streaming and s.capabilities.interim_results


def test_unknown_model_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_SPEECH_KEY", KEY)
    monkeypatch.setenv("AZURE_SPEECH_REGION", "westus")
    with pytest.raises(ValueError, match="azure/speech"):
        registry.resolve("stt", "azure/whisper")


def test_missing_key_names_the_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AZURE_SPEECH_KEY", raising=False)
    monkeypatch.setenv("AZURE_SPEECH_REGION", "westus")
    with pytest.raises(MissingCredentialsError) as exc:
        registry.resolve("stt", "azure/speech")
    assert "AZURE_SPEECH_KEY" in str(exc.value) and "AZURE_SPEECH_REGION" in str(exc.value)
    assert exc.value.env_var == "AZURE_SPEECH_KEY"


def test_missing_region_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_SPEECH_KEY", KEY)
    monkeypatch.delenv("AZURE_SPEECH_REGION", raising=False)
    with pytest.raises(MissingCredentialsError) as exc:
        azure.STT()
    assert "AZURE_SPEECH_REGION" in str(exc.value) and exc.value.env_var == "AZURE_SPEECH_REGION"
    assert KEY not in str(exc.value)
    # an explicit endpoint replaces the region
    assert (
        azure.STT(base_url="https://speech.example.test")
        ._opts.rest_url("en-US")
        .startswith("https://speech.example.test/speech/recognition/")
    )


def test_bad_options_are_rejected_clearly() -> None:
    with pytest.raises(ValueError, match="region"):
        azure.STT(api_key=KEY, region="west us/../x")
    with pytest.raises(ValueError, match="8000 or 16000"):
        azure.STT(api_key=KEY, region="westus", sample_rate=44100)
    with pytest.raises(ValueError, match="base_url"):
        azure.STT(api_key=KEY, base_url="speech.example.test")


def test_close_codes_are_classified() -> None:
    assert not close_error(1007, "invalid audio").retryable
    err = close_error(1011, "internal error")
    assert isinstance(err, APIConnectionError) and err.retryable and "1011" in str(err)


# -- streaming: happy paths --------------------------------------------------------------------


async def test_stream_interim_then_final_with_speech_events_and_usage(srv: FakeAzureSpeech) -> None:
    srv.transcripts = ["Bonjour tout le monde."]
    async with azure.STT(api_key=KEY, base_url=srv.base_url, language="fr-FR") as s:
        metrics: list[object] = []
        s.on("metrics_collected", metrics.append)
        events = await _run(s.stream(conn_options=FAST), _frames(UTTERANCE, rate=48000))

    types = _types(events)
    assert types[0] == T.START_OF_SPEECH
    assert T.INTERIM_TRANSCRIPT in types
    assert types.index(T.INTERIM_TRANSCRIPT) < types.index(T.FINAL_TRANSCRIPT)
    assert types.index(T.FINAL_TRANSCRIPT) < types.index(T.END_OF_SPEECH)
    assert types[-1] == T.RECOGNITION_USAGE
    interims = [ev.alternatives[0].text for ev in events if ev.type == T.INTERIM_TRANSCRIPT]
    assert interims[0] == "bonjour" and all(i for i in interims)
    final = next(ev for ev in events if ev.type == T.FINAL_TRANSCRIPT).alternatives[0]
    assert final.text == "Bonjour tout le monde."
    assert final.language == "fr-FR" and final.confidence == pytest.approx(0.92)
    assert final.start_time == pytest.approx(0.2, abs=0.03)
    assert final.end_time == pytest.approx(1.0, abs=0.03)
    usage = events[-1].recognition_usage
    assert usage is not None and usage.audio_duration == pytest.approx(1.4, abs=0.03)
    assert metrics  # usage becomes STT metrics

    rec = srv.received[0]
    assert rec.query == {"language": "fr-FR", "format": "detailed", "profanity": "masked"}
    assert rec.headers["ocp-apim-subscription-key"] == KEY
    assert rec.headers.get("x-connectionid")
    assert rec.messages[0][0] == "speech.config"
    assert rec.speech_config["context"]["audio"]["source"]["samplerate"] == "16000"
    assert len(rec.turns) == 1 and rec.turns[0].sample_rate == 16000
    assert rec.turns[0].audio_seconds == pytest.approx(1.4, abs=0.03)
    assert srv.violations == []


async def test_stream_two_utterances(srv: FakeAzureSpeech, stt: azure.STT) -> None:
    srv.transcripts = ["First one.", "Second one."]
    events = await _run(stt.stream(conn_options=FAST), _frames(UTTERANCE + UTTERANCE))
    assert _finals(events) == ["First one.", "Second one."]
    speech = [t for t in _types(events) if t in (T.START_OF_SPEECH, T.END_OF_SPEECH)]
    assert speech == [T.START_OF_SPEECH, T.END_OF_SPEECH] * 2
    second = [ev for ev in events if ev.type == T.FINAL_TRANSCRIPT][1].alternatives[0]
    assert second.start_time == pytest.approx(1.6, abs=0.03)
    assert srv.violations == []


async def test_flush_ends_the_turn_and_audio_continues_in_a_new_one(
    srv: FakeAzureSpeech, stt: azure.STT
) -> None:
    srv.transcripts = ["One.", "Two."]
    stream = stt.stream(conn_options=FAST)
    stream.start_time_offset = 10.0
    for f in _frames([("silence", 0.1), ("speech", 0.5)]):
        stream.push_frame(f)
    stream.flush()
    for f in _frames([("speech", 0.5), ("silence", 0.1)]):
        stream.push_frame(f)
    stream.end_input()
    events = [ev async for ev in stream]
    assert _finals(events) == ["One.", "Two."]
    rec = srv.received[0]
    assert len(rec.turns) == 2 and rec.turns[0].request_id != rec.turns[1].request_id
    usages = [ev.recognition_usage.audio_duration for ev in events if ev.recognition_usage]
    assert usages == [pytest.approx(0.6, abs=0.03), pytest.approx(0.6, abs=0.03)]
    finals = [ev.alternatives[0] for ev in events if ev.type == T.FINAL_TRANSCRIPT]
    assert finals[0].start_time == pytest.approx(10.1, abs=0.03)
    assert finals[1].start_time == pytest.approx(10.6, abs=0.03)
    assert srv.violations == []


async def test_silence_only_gives_usage_but_no_transcript(
    srv: FakeAzureSpeech, stt: azure.STT
) -> None:
    events = await _run(stt.stream(conn_options=FAST), _frames([("silence", 0.5)]))
    assert _types(events) == [T.RECOGNITION_USAGE]


async def test_stream_without_audio_ends_cleanly(srv: FakeAzureSpeech, stt: azure.STT) -> None:
    assert await _run(stt.stream(conn_options=FAST), []) == []


# -- streaming: faults -------------------------------------------------------------------------


async def test_stream_rejected_key_is_not_retried(srv: FakeAzureSpeech) -> None:
    async with azure.STT(api_key="wrong-key-456", base_url=srv.base_url) as s:
        errors = _errors(s)
        with pytest.raises(APIStatusError) as exc:
            await _run(s.stream(conn_options=FAST), _frames(UTTERANCE))
    assert exc.value.status_code == 401 and not exc.value.retryable
    assert "rejected the key" in str(exc.value) and "wrong-key-456" not in str(exc.value)
    assert len(srv.received) == 1
    assert [e.recoverable for e in errors] == [False]


async def test_stream_forbidden_is_not_retried(srv: FakeAzureSpeech, stt: azure.STT) -> None:
    srv.fail_next(403)
    with pytest.raises(APIStatusError) as exc:
        await _run(stt.stream(conn_options=FAST), _frames(UTTERANCE))
    assert exc.value.status_code == 403 and not exc.value.retryable
    assert "rejected the key" in str(exc.value) and "AZURE_SPEECH_KEY" in str(exc.value)
    assert len(srv.received) == 1


async def test_key_never_reaches_the_logs(
    srv: FakeAzureSpeech, stt: azure.STT, caplog: pytest.LogCaptureFixture
) -> None:
    """At DEBUG level: STT stream and REST, TTS, through retries and a rejected key."""
    caplog.set_level(logging.DEBUG)
    srv.fail_next(500)
    assert _finals(await _run(stt.stream(conn_options=FAST), _frames(UTTERANCE)))
    srv.fail_next(500)
    await stt.recognize(_frames(UTTERANCE), conn_options=FAST)
    async with azure.TTS(api_key=KEY, base_url=srv.base_url) as tts:
        srv.fail_next(500)
        assert (await tts.synthesize("Hello.", conn_options=FAST).collect()).duration > 0
    async with azure.STT(api_key="wrong-key-456", base_url=srv.base_url) as wrong:
        with pytest.raises(APIStatusError):
            await _run(wrong.stream(conn_options=FAST), _frames(UTTERANCE))
    assert "retrying" in caplog.text  # the retries were logged...
    assert KEY not in caplog.text and "wrong-key-456" not in caplog.text  # ...without a key


async def test_stream_429_honours_retry_after(srv: FakeAzureSpeech, stt: azure.STT) -> None:
    errors = _errors(stt)
    srv.fail_next(429, retry_after=0.3)
    events = await _run(stt.stream(conn_options=FAST), _frames(UTTERANCE))
    assert _finals(events) == ["Hello world."]
    assert [r.status for r in srv.received] == [429, 101]
    assert srv.received[1].at - srv.received[0].at >= 0.3
    err = errors[0].error
    assert isinstance(err, APIStatusError) and err.retry_after == 0.3 and errors[0].recoverable


async def test_stream_500_is_retried(srv: FakeAzureSpeech, stt: azure.STT) -> None:
    srv.fail_next(500)
    events = await _run(stt.stream(conn_options=FAST), _frames(UTTERANCE))
    assert _finals(events) == ["Hello world."]
    assert [r.status for r in srv.received] == [500, 101]


async def test_stream_gives_up_after_the_retry_budget(srv: FakeAzureSpeech, stt: azure.STT) -> None:
    srv.fail_next(503, times=3)
    with pytest.raises(APIStatusError) as exc:
        await _run(stt.stream(conn_options=FAST), _frames(UTTERANCE))
    assert exc.value.status_code == 503 and len(srv.received) == 3


async def test_stream_drop_before_any_transcript_reconnects(
    srv: FakeAzureSpeech, stt: azure.STT
) -> None:
    errors = _errors(stt)
    srv.disconnect_next(after=3)
    stream = stt.stream(conn_options=FAST)
    for f in _frames([("silence", 0.2)]):
        stream.push_frame(f)
    await srv.wait_requests(2)  # the client noticed the drop and reconnected
    events = await _run(stream, _frames(UTTERANCE))
    assert _finals(events) == ["Hello world."]
    assert isinstance(errors[0].error, APIConnectionError) and errors[0].recoverable
    assert srv.received[1].turns[0].transcripts == ["Hello world."]


async def test_stream_drop_after_a_transcript_reconnects_and_continues(
    srv: FakeAzureSpeech, stt: azure.STT
) -> None:
    srv.transcripts = ["Before the drop.", "After the drop."]
    first = _frames(UTTERANCE)
    srv.disconnect_next(after=1 + len(first))  # the RIFF header, then every frame of `first`
    stream = stt.stream(conn_options=FAST)
    for f in first:
        stream.push_frame(f)
    seen: list[SpeechEvent] = []
    async for ev in stream:
        seen.append(ev)
        if ev.type == T.END_OF_SPEECH:
            break
    stream.push_frame(_frames([("silence", 0.02)])[0])  # this one hits the dropped connection
    await srv.wait_requests(2)
    seen += await _run(stream, _frames(UTTERANCE))
    assert _finals(seen) == ["Before the drop.", "After the drop."]
    # audio sent on the dropped connection is still reported as used
    assert sum(ev.recognition_usage.audio_duration for ev in seen if ev.recognition_usage) >= 2.8


async def test_stream_stall_before_turn_start_times_out(
    srv: FakeAzureSpeech, stt: azure.STT
) -> None:
    srv.stall_next(after=0)
    stream = stt.stream(conn_options=NO_RETRY)
    for f in _frames(UTTERANCE):
        stream.push_frame(f)
    with pytest.raises(APITimeoutError):
        async for _ in stream:
            pass


async def test_stream_stall_before_turn_end_times_out(srv: FakeAzureSpeech, stt: azure.STT) -> None:
    srv.stall_next(after=10)  # turn.start and a few results, then silence
    with pytest.raises(APITimeoutError):
        await _run(stt.stream(conn_options=NO_RETRY), _frames(UTTERANCE))


async def test_stream_unreachable_server_is_a_connection_error() -> None:
    srv = FakeAzureSpeech(api_key=KEY)
    await srv.start()
    url = srv.base_url
    await srv.close()
    async with azure.STT(api_key=KEY, base_url=url) as s:
        stream = s.stream(
            conn_options=APIConnectOptions(max_retry=1, retry_interval=0.01, timeout=1)
        )
        with pytest.raises(APIConnectionError):
            await _run(stream, _frames(UTTERANCE))


# -- batch recognition (REST short audio) ------------------------------------------------------


async def test_recognize_over_rest(srv: FakeAzureSpeech, stt: azure.STT) -> None:
    srv.transcripts = ["Guten Tag."]
    event = await stt.recognize(_frames(UTTERANCE, rate=48000), language="de-DE", conn_options=FAST)
    assert event.type == T.FINAL_TRANSCRIPT
    alt = event.alternatives[0]
    assert (alt.text, alt.language) == ("Guten Tag.", "de-DE")
    assert alt.confidence == pytest.approx(0.92)
    assert alt.start_time == pytest.approx(0.2, abs=0.03)
    rec = srv.received[0]
    assert (
        rec.kind == "rest"
        and rec.query["language"] == "de-DE"
        and rec.query["format"] == "detailed"
    )
    assert rec.headers["ocp-apim-subscription-key"] == KEY
    assert rec.headers["content-type"] == "audio/wav; codecs=audio/pcm; samplerate=16000"
    assert rec.turns[0].sample_rate == 16000
    assert rec.turns[0].audio_seconds == pytest.approx(1.4, abs=0.03)
    assert srv.violations == []


async def test_recognize_silence_is_an_empty_transcript(
    srv: FakeAzureSpeech, stt: azure.STT
) -> None:
    event = await stt.recognize(_frames([("silence", 0.3)]), conn_options=FAST)
    assert event.alternatives[0].text == ""


async def test_recognize_rejected_key_is_not_retried(srv: FakeAzureSpeech) -> None:
    async with azure.STT(api_key="wrong-key-456", base_url=srv.base_url) as s:
        with pytest.raises(APIStatusError) as exc:
            await s.recognize(_frames(UTTERANCE), conn_options=FAST)
    assert exc.value.status_code == 401 and not exc.value.retryable
    assert "rejected the key" in str(exc.value) and "wrong-key-456" not in str(exc.value)
    assert len(srv.received) == 1


async def test_recognize_429_honours_retry_after(srv: FakeAzureSpeech, stt: azure.STT) -> None:
    srv.fail_next(429, retry_after=0.3)
    event = await stt.recognize(_frames(UTTERANCE), conn_options=FAST)
    assert event.alternatives[0].text == "Hello world."
    assert [r.status for r in srv.received] == [429, 200]
    assert srv.received[1].at - srv.received[0].at >= 0.3


async def test_recognize_500_and_drop_are_retried(srv: FakeAzureSpeech, stt: azure.STT) -> None:
    srv.fail_next(500)
    srv.disconnect_next()
    event = await stt.recognize(_frames(UTTERANCE), conn_options=FAST)
    assert event.alternatives[0].text == "Hello world."
    assert len(srv.received) == 3


async def test_recognize_stall_times_out(srv: FakeAzureSpeech, stt: azure.STT) -> None:
    srv.stall_next()
    with pytest.raises(APITimeoutError):
        await stt.recognize(_frames(UTTERANCE), conn_options=NO_RETRY)


async def test_errors_are_api_errors(srv: FakeAzureSpeech, stt: azure.STT) -> None:
    srv.fail_next(400)
    with pytest.raises(APIError) as exc:
        await stt.recognize(_frames(UTTERANCE), conn_options=FAST)
    assert not exc.value.retryable and len(srv.received) == 1
