"""Streaming recognition through the Deepgram SDK against the local fake server."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
from fake_servers.deepgram import FakeDeepgram
from livekit import rtc

from livekit.agents import APIConnectOptions, APIStatusError, APITimeoutError
from livekit.agents.metrics import STTMetrics
from livekit.agents.stt import SpeechEvent, SpeechEventType, STTError
from livekit.plugins import deepgram

T = SpeechEventType
Tone = Callable[..., list[rtc.AudioFrame]]

FAST = APIConnectOptions(max_retry=0, retry_interval=0.05, timeout=5.0)
RETRYING = APIConnectOptions(max_retry=3, retry_interval=0.05, timeout=5.0)


def make_stt(srv: FakeDeepgram, **kwargs: object) -> deepgram.STT:
    return deepgram.STT(api_key=srv.api_key, base_url=srv.base_url, **kwargs)  # type: ignore[arg-type]


async def events_until(
    stream: deepgram.SpeechStream, done: Callable[[SpeechEvent], bool]
) -> list[SpeechEvent]:
    """Read events up to and including the first one for which ``done`` is true."""
    seen: list[SpeechEvent] = []
    async for ev in stream:
        seen.append(ev)
        if done(ev):
            return seen
    raise AssertionError(f"the stream ended before the expected event; got {[e.type for e in seen]}")


def text_of(events: list[SpeechEvent], kind: SpeechEventType) -> list[str]:
    return [e.alternatives[0].text for e in events if e.type == kind]


def usage_of(events: list[SpeechEvent]) -> float:
    return sum(
        e.recognition_usage.audio_duration
        for e in events
        if e.type == T.RECOGNITION_USAGE and e.recognition_usage
    )


async def test_interim_then_final_then_end_of_speech(dg: FakeDeepgram, make_tone: Tone) -> None:
    dg.script("Hello there, how are you?", after=0.3, interims=2)
    stt = make_stt(dg)
    async with stt.stream(conn_options=FAST) as stream:
        for frame in make_tone(1.0):  # 48 kHz in: the stream resamples to 16 kHz
            stream.push_frame(frame)
        first = await events_until(stream, lambda e: e.type == T.END_OF_SPEECH)
        stream.end_input()
        rest = [ev async for ev in stream]

    kinds = [e.type for e in first if e.type != T.RECOGNITION_USAGE]
    assert kinds[0] == T.START_OF_SPEECH
    assert kinds.count(T.INTERIM_TRANSCRIPT) == 2
    assert kinds.index(T.INTERIM_TRANSCRIPT) < kinds.index(T.FINAL_TRANSCRIPT)
    assert kinds[-2:] == [T.FINAL_TRANSCRIPT, T.END_OF_SPEECH]
    assert text_of(first, T.FINAL_TRANSCRIPT) == ["Hello there, how are you?"]
    assert text_of(first, T.INTERIM_TRANSCRIPT)[0] == "Hello"
    final = next(e for e in first if e.type == T.FINAL_TRANSCRIPT)
    assert final.request_id
    assert final.alternatives[0].language == "en-US"
    assert final.alternatives[0].confidence == pytest.approx(0.98)
    assert 0.0 <= final.alternatives[0].start_time < final.alternatives[0].end_time

    # usage: every second of audio that was sent is reported
    assert usage_of(first + rest) == pytest.approx(1.0, abs=0.03)
    assert not [e for e in rest if e.type in (T.START_OF_SPEECH, T.END_OF_SPEECH)]

    sock = dg.sockets[0]
    assert sock.headers["Authorization"] == f"Token {dg.api_key}"
    assert sock.query["model"] == "nova-3"
    assert sock.query["language"] == "en-US"
    assert sock.query["encoding"] == "linear16"
    assert sock.query["sample_rate"] == "16000"
    assert sock.query["channels"] == "1"
    assert sock.query["interim_results"] == "true"
    assert sock.query["endpointing"] == "25"
    assert sock.query["vad_events"] == "true"
    assert sock.query["filler_words"] == "true"
    assert sock.extra["audio_seconds"] == pytest.approx(1.0, abs=0.03)
    assert dg.received[-1] == "CloseStream"
    dg.assert_no_violations()


async def test_one_end_of_speech_per_utterance(dg: FakeDeepgram, make_tone: Tone) -> None:
    dg.script("first sentence", "second sentence", after=0.3)
    stt = make_stt(dg, utterance_end_ms=1000)  # UtteranceEnd follows each speech_final
    async with stt.stream(conn_options=FAST) as stream:
        for frame in make_tone(0.8):
            stream.push_frame(frame)
        stream.end_input()
        events = [ev async for ev in stream]

    kinds = [e.type for e in events if e.type in (T.START_OF_SPEECH, T.END_OF_SPEECH)]
    assert kinds == [T.START_OF_SPEECH, T.END_OF_SPEECH] * 2
    assert text_of(events, T.FINAL_TRANSCRIPT) == ["first sentence", "second sentence"]
    assert dg.sockets[0].query["utterance_end_ms"] == "1000"
    dg.assert_no_violations()


async def test_keepalive_is_sent_while_no_audio_flows(dg: FakeDeepgram) -> None:
    stt = make_stt(dg, keepalive_interval=0.05)
    async with stt.stream(conn_options=FAST) as stream:
        await dg.wait_for(lambda: dg.received.count("KeepAlive") >= 3)
        stream.end_input()
        events = [ev async for ev in stream]
    assert events == []  # no audio, no transcript and nothing to bill
    assert dg.received[-1] == "CloseStream"
    assert len(dg.sockets) == 1


async def test_flush_sends_finalize_and_returns_the_pending_words(
    dg: FakeDeepgram, make_tone: Tone
) -> None:
    dg.script("finalize me", on_finalize=True)
    stt = make_stt(dg)
    async with stt.stream(conn_options=FAST) as stream:
        for frame in make_tone(0.2):
            stream.push_frame(frame)
        stream.flush()
        events = await events_until(stream, lambda e: e.type == T.FINAL_TRANSCRIPT)
        assert text_of(events, T.FINAL_TRANSCRIPT) == ["finalize me"]
        assert "Finalize" in dg.received
        # the audio before the flush reached the server before the Finalize
        assert dg.sockets[0].extra["audio_seconds"] == pytest.approx(0.2, abs=0.03)
        # the stream stays usable after a flush
        dg.script("and more", after=0.2)
        for frame in make_tone(0.3):
            stream.push_frame(frame)
        more = await events_until(stream, lambda e: e.type == T.FINAL_TRANSCRIPT)
        assert text_of(more, T.FINAL_TRANSCRIPT) == ["and more"]
    assert len(dg.sockets) == 1


async def test_reconnects_after_a_dropped_socket_and_keeps_transcribing(
    dg: FakeDeepgram, make_tone: Tone
) -> None:
    dg.script("before the drop", "after the drop", after=0.3)
    dg.disconnect_next(after=1)  # the socket dies right after the first utterance
    stt = make_stt(dg)
    errors: list[STTError] = []
    stt.on("error", errors.append)
    async with stt.stream(conn_options=RETRYING) as stream:
        for frame in make_tone(0.4):
            stream.push_frame(frame)
        first = await events_until(stream, lambda e: e.type == T.FINAL_TRANSCRIPT)
        await dg.wait_for(lambda: len(dg.sockets) == 2)
        for frame in make_tone(0.4):
            stream.push_frame(frame)
        second = await events_until(stream, lambda e: e.type == T.FINAL_TRANSCRIPT)
        stream.end_input()
        rest = [ev async for ev in stream]

    assert text_of(first, T.FINAL_TRANSCRIPT) == ["before the drop"]
    assert text_of(second, T.FINAL_TRANSCRIPT) == ["after the drop"]
    assert len(errors) == 1 and errors[0].recoverable
    # timestamps continue across sockets instead of restarting at zero
    t1 = next(e for e in first if e.type == T.FINAL_TRANSCRIPT).alternatives[0]
    t2 = next(e for e in second if e.type == T.FINAL_TRANSCRIPT).alternatives[0]
    assert t2.start_time > t1.end_time
    # all the audio sent is reported, on both sockets
    assert usage_of(first + second + rest) == pytest.approx(0.8, abs=0.03)


async def test_reconnects_after_a_server_close(dg: FakeDeepgram, make_tone: Tone) -> None:
    dg.close_next(code=1011)
    dg.script("still here", after=0.2)
    stt = make_stt(dg)
    async with stt.stream(conn_options=RETRYING) as stream:
        for frame in make_tone(0.1):
            stream.push_frame(frame)
        await dg.wait_for(lambda: len(dg.sockets) == 2)
        for frame in make_tone(0.3):
            stream.push_frame(frame)
        events = await events_until(stream, lambda e: e.type == T.FINAL_TRANSCRIPT)
    assert text_of(events, T.FINAL_TRANSCRIPT) == ["still here"]


async def test_rejected_key_is_not_retried_and_says_what_to_fix(
    dg: FakeDeepgram, make_tone: Tone
) -> None:
    stt = deepgram.STT(api_key="wrong-secret-key", base_url=dg.base_url)
    async with stt.stream(conn_options=RETRYING) as stream:
        for frame in make_tone(0.1):
            stream.push_frame(frame)
        with pytest.raises(APIStatusError) as info:
            async for _ in stream:
                pass
    err = info.value
    assert err.status_code == 401
    assert not err.retryable
    assert "DEEPGRAM_API_KEY" in str(err)
    assert "wrong-secret-key" not in str(err)
    assert dg.handshakes == 1


async def test_forbidden_handshake_is_not_retried(dg: FakeDeepgram, make_tone: Tone) -> None:
    dg.fail_next(403)
    stt = make_stt(dg)
    async with stt.stream(conn_options=RETRYING) as stream:
        for frame in make_tone(0.1):
            stream.push_frame(frame)
        with pytest.raises(APIStatusError) as info:
            async for _ in stream:
                pass
    assert info.value.status_code == 403 and not info.value.retryable
    assert "rejected the API key" in str(info.value) and "DEEPGRAM_API_KEY" in str(info.value)
    assert dg.handshakes == 1


async def test_metrics_report_the_audio_sent(dg: FakeDeepgram, make_tone: Tone) -> None:
    dg.script("measured", after=0.3)
    stt = make_stt(dg)
    metrics: list[STTMetrics] = []
    stt.on("metrics_collected", metrics.append)
    async with stt.stream(conn_options=FAST) as stream:
        for frame in make_tone(0.6):
            stream.push_frame(frame)
        stream.end_input()
        events = [ev async for ev in stream]
    assert text_of(events, T.FINAL_TRANSCRIPT) == ["measured"]
    assert metrics and all(m.streamed for m in metrics)
    assert sum(m.audio_duration for m in metrics) == pytest.approx(0.6, abs=0.03)
    assert {(m.model, m.provider) for m in metrics} == {("nova-3", "deepgram")}


async def test_key_never_reaches_the_logs(
    dg: FakeDeepgram, make_tone: Tone, caplog: pytest.LogCaptureFixture
) -> None:
    """At DEBUG level, where websockets logs every handshake header."""
    caplog.set_level(logging.DEBUG)
    dg.fail_next(500)
    dg.script("streamed", after=0.2)
    stt = make_stt(dg)
    async with stt.stream(conn_options=RETRYING) as stream:
        for frame in make_tone(0.3):
            stream.push_frame(frame)
        await events_until(stream, lambda e: e.type == T.FINAL_TRANSCRIPT)
    dg.fail_next(500)
    await stt.recognize(make_tone(0.2), conn_options=RETRYING)
    await stt.aclose()
    wrong = deepgram.STT(api_key="wrong-secret-key", base_url=dg.base_url)
    with pytest.raises(APIStatusError):
        await wrong.recognize(make_tone(0.2), conn_options=RETRYING)
    async with wrong.stream(conn_options=RETRYING) as stream:
        for frame in make_tone(0.1):
            stream.push_frame(frame)
        with pytest.raises(APIStatusError):
            async for _ in stream:
                pass
    await wrong.aclose()
    assert "Authorization" in caplog.text  # the handshake was logged...
    assert dg.api_key not in caplog.text and "wrong-secret-key" not in caplog.text  # ...masked


@pytest.mark.parametrize("status", [429, 500])
async def test_rate_limit_and_server_errors_are_retried(
    dg: FakeDeepgram, make_tone: Tone, status: int
) -> None:
    dg.fail_next(status, retry_after=0.1 if status == 429 else None)
    dg.script("made it", after=0.2)
    stt = make_stt(dg)
    errors: list[STTError] = []
    stt.on("error", errors.append)
    async with stt.stream(conn_options=RETRYING) as stream:
        for frame in make_tone(0.4):
            stream.push_frame(frame)
        events = await events_until(stream, lambda e: e.type == T.FINAL_TRANSCRIPT)
    assert text_of(events, T.FINAL_TRANSCRIPT) == ["made it"]
    assert dg.handshakes == 2
    assert len(errors) == 1 and errors[0].recoverable
    err = errors[0].error
    assert isinstance(err, APIStatusError) and err.status_code == status
    if status == 429:
        assert err.retry_after == pytest.approx(0.1)


async def test_retry_after_longer_than_the_timeout_fails_fast(
    dg: FakeDeepgram, make_tone: Tone
) -> None:
    dg.fail_next(429, retry_after=60)
    stt = make_stt(dg)
    async with stt.stream(conn_options=RETRYING) as stream:
        for frame in make_tone(0.1):
            stream.push_frame(frame)
        with pytest.raises(APIStatusError) as info:
            async for _ in stream:
                pass
    assert info.value.status_code == 429
    assert info.value.retry_after == 60
    assert dg.handshakes == 1


async def test_silent_socket_is_treated_as_dead(dg: FakeDeepgram, make_tone: Tone) -> None:
    dg.script("then silence", after=0.1)
    dg.stall_next(after=1)  # one utterance, then nothing while audio keeps coming
    stt = make_stt(dg)
    async with stt.stream(conn_options=APIConnectOptions(max_retry=0, timeout=0.5)) as stream:
        for frame in make_tone(0.2):
            stream.push_frame(frame)
        events = await events_until(stream, lambda e: e.type == T.FINAL_TRANSCRIPT)
        for frame in make_tone(0.2):
            stream.push_frame(frame)
        with pytest.raises(APITimeoutError, match="sent nothing"):
            async for _ in stream:
                pass
    assert text_of(events, T.FINAL_TRANSCRIPT) == ["then silence"]
    assert dg.sockets[0].extra["audio_seconds"] == pytest.approx(0.4, abs=0.03)


async def test_unanswered_handshake_times_out(dg: FakeDeepgram, make_tone: Tone) -> None:
    dg.stall_next()
    stt = make_stt(dg)
    async with stt.stream(conn_options=APIConnectOptions(max_retry=0, timeout=0.3)) as stream:
        with pytest.raises(APITimeoutError, match="did not accept the connection"):
            async for _ in stream:
                pass


async def test_timed_out_connection_is_retried(dg: FakeDeepgram, make_tone: Tone) -> None:
    dg.stall_next()
    dg.script("on the next socket", after=0.2)
    stt = make_stt(dg)
    opts = APIConnectOptions(max_retry=2, retry_interval=0.05, timeout=0.3)
    async with stt.stream(conn_options=opts) as stream:
        for frame in make_tone(0.3):
            stream.push_frame(frame)
        events = await events_until(stream, lambda e: e.type == T.FINAL_TRANSCRIPT)
    assert text_of(events, T.FINAL_TRANSCRIPT) == ["on the next socket"]
    assert dg.handshakes == 2


async def test_unreachable_server_is_a_connection_error(make_tone: Tone) -> None:
    from livekit.agents import APIConnectionError

    stt = deepgram.STT(api_key="k", base_url="http://127.0.0.1:9")  # discard port: refused
    async with stt.stream(conn_options=FAST) as stream:
        for frame in make_tone(0.1):
            stream.push_frame(frame)
        with pytest.raises(APIConnectionError):
            async for _ in stream:
                pass


async def test_language_per_stream_and_multilingual(dg: FakeDeepgram, make_tone: Tone) -> None:
    dg.script("hola a todos", after=0.2, language="es")
    stt = make_stt(dg)
    async with stt.stream(language="multi", conn_options=FAST) as stream:
        for frame in make_tone(0.3):
            stream.push_frame(frame)
        events = await events_until(stream, lambda e: e.type == T.FINAL_TRANSCRIPT)
    assert dg.sockets[0].query["language"] == "multi"
    final = next(e for e in events if e.type == T.FINAL_TRANSCRIPT)
    assert final.alternatives[0].language == "es"
