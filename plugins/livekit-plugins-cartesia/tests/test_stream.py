"""Streamed synthesis over the websocket protocol, against the local fake server."""

from __future__ import annotations

import asyncio

import pytest
from fake_servers.cartesia import FakeCartesia

from livekit.agents import APIConnectionError, APIConnectOptions, APIStatusError, APITimeoutError
from livekit.agents.metrics import TTSMetrics
from livekit.agents.tts import SynthesizedAudio, TTSError
from livekit.plugins import cartesia
from livekit.plugins.cartesia.models import DEFAULT_VOICE

RETRYING = APIConnectOptions(max_retry=3, retry_interval=0.05, timeout=5.0)
NO_RETRY = APIConnectOptions(max_retry=0, timeout=5.0)


def make_tts(srv: FakeCartesia, **kwargs: object) -> cartesia.TTS:
    return cartesia.TTS(api_key=srv.api_key, base_url=srv.base_url, **kwargs)  # type: ignore[arg-type]


def seconds(frames: list[SynthesizedAudio]) -> float:
    return sum(f.frame.duration for f in frames)


def only_context(srv: FakeCartesia) -> str:
    assert len(srv.contexts) == 1, srv.contexts
    return next(iter(srv.contexts))


async def test_first_audio_arrives_before_the_text_ends(srv: FakeCartesia) -> None:
    tts = make_tts(srv)
    stream = tts.stream(conn_options=NO_RETRY)
    stream.push_text("Hello")
    stream.push_text(" there.")
    first = await stream.__anext__()  # audio for text sent so far, input still open
    cid = only_context(srv)
    assert not srv.contexts[cid].closed
    assert srv.contexts[cid].transcript == "Hello there."

    stream.push_text(" How are you today?")
    stream.end_input()
    frames = [first] + [f async for f in stream]
    await tts.aclose()

    ctx = srv.contexts[cid]
    assert ctx.closed and ctx.transcript == "Hello there. How are you today?"
    # one request per pushed piece, sent verbatim, then continue=false on the same context
    requests = srv.sockets[0].extra["messages"]
    assert [r["transcript"] for r in requests] == ["Hello", " there.", " How are you today?", ""]
    assert [r["continue"] for r in requests] == [True, True, True, False]
    assert {r["context_id"] for r in requests} == {cid}
    for r in requests:
        assert r["model_id"] == "sonic-2"
        assert r["voice"] == {"mode": "id", "id": DEFAULT_VOICE}
        assert r["output_format"] == {"container": "raw", "encoding": "pcm_s16le", "sample_rate": 24000}
        assert r["language"] == "en"
    headers = srv.sockets[0].headers
    assert headers["Authorization"] == f"Bearer {srv.api_key}"
    assert headers["Cartesia-Version"]
    # raw PCM at the TTS rate, all of it
    assert all(f.frame.sample_rate == 24000 and f.frame.num_channels == 1 for f in frames)
    assert tts.sample_rate == 24000
    assert seconds(frames) == pytest.approx(ctx.audio_bytes / 2 / 24000)
    assert seconds(frames) == pytest.approx(0.01 * 26, abs=0.002)  # 26 non-blank characters
    srv.assert_no_violations()


async def test_flush_ends_a_segment_and_the_context_goes_on(srv: FakeCartesia) -> None:
    tts = make_tts(srv)
    async with tts.stream(conn_options=NO_RETRY) as stream:
        stream.push_text("The first sentence.")
        stream.flush()
        stream.push_text(" The second one.")
        stream.end_input()
        frames = [f async for f in stream]

    requests = srv.sockets[0].extra["messages"]
    assert [(r["transcript"], r["continue"], r.get("flush", False)) for r in requests] == [
        ("The first sentence.", True, False),
        ("", True, True),
        (" The second one.", True, False),
        ("", False, False),
    ]
    # (both segments end mid-frame: the emitter marks the last frame of each one final)
    segments = list(dict.fromkeys(f.segment_id for f in frames))
    assert len(segments) == 2
    ends = [f for f in frames if f.is_final]
    assert [f.segment_id for f in ends] == segments
    assert srv.contexts[only_context(srv)].flushes == 1
    srv.assert_no_violations()


async def test_sample_rate_and_options_are_sent(srv: FakeCartesia) -> None:
    tts = make_tts(
        srv,
        model="sonic-3",
        voice="my-voice",
        language="fr",
        sample_rate=16000,
        generation_config={"speed": 1.1},
        max_buffer_delay_ms=0,
    )
    async with tts.stream(conn_options=NO_RETRY) as stream:
        stream.push_text("Bonjour.")
        stream.end_input()
        frames = [f async for f in stream]
    request = srv.sockets[0].extra["messages"][0]
    assert request["model_id"] == "sonic-3"
    assert request["voice"]["id"] == "my-voice"
    assert request["language"] == "fr"
    assert request["output_format"]["sample_rate"] == 16000
    assert request["generation_config"] == {"speed": 1.1}
    assert request["max_buffer_delay_ms"] == 0
    assert {f.frame.sample_rate for f in frames} == {16000}
    assert seconds(frames) == pytest.approx(0.08, abs=0.002)


async def test_a_stream_without_text_ends_quietly(srv: FakeCartesia) -> None:
    tts = make_tts(srv)
    async with tts.stream(conn_options=NO_RETRY) as stream:
        stream.end_input()
        frames = [f async for f in stream]
    assert frames == []
    assert srv.contexts == {}


async def test_closing_a_stream_mid_speech_closes_its_socket(srv: FakeCartesia) -> None:
    gate = srv.hold_next(after=1)  # the server pauses after the first chunk
    tts = make_tts(srv)
    stream = tts.stream(conn_options=NO_RETRY)
    stream.push_text("A long answer that the user interrupts.")
    await stream.__anext__()
    await stream.aclose()  # what the session does on an interruption
    gate.set()
    await srv.wait_for(lambda: srv.sockets[0].extra.get("closed"))
    assert not srv.contexts[only_context(srv)].closed  # the context was never finished


async def test_rejected_key_is_not_retried_and_says_what_to_fix(srv: FakeCartesia) -> None:
    tts = cartesia.TTS(api_key="wrong-cartesia-key", base_url=srv.base_url)
    async with tts.stream(conn_options=RETRYING) as stream:
        stream.push_text("Hello.")
        stream.end_input()
        with pytest.raises(APIStatusError) as info:
            async for _ in stream:
                pass
    assert info.value.status_code == 401 and not info.value.retryable
    assert "CARTESIA_API_KEY" in str(info.value)
    assert "wrong-cartesia-key" not in str(info.value)
    assert srv.handshakes == 1


async def test_forbidden_handshake_is_not_retried(srv: FakeCartesia) -> None:
    srv.fail_next(403)
    tts = make_tts(srv)
    async with tts.stream(conn_options=RETRYING) as stream:
        stream.push_text("Hello.")
        stream.end_input()
        with pytest.raises(APIStatusError) as info:
            async for _ in stream:
                pass
    assert info.value.status_code == 403 and not info.value.retryable
    assert "rejected the API key" in str(info.value)
    assert srv.handshakes == 1


async def test_metrics_are_reported_per_stream(srv: FakeCartesia) -> None:
    tts = make_tts(srv)
    metrics: list[TTSMetrics] = []
    tts.on("metrics_collected", metrics.append)
    async with tts.stream(conn_options=NO_RETRY) as stream:
        stream.push_text("Counted ")
        stream.push_text("characters.")
        stream.end_input()
        frames = [f async for f in stream]
    (m,) = metrics
    assert m.streamed and not m.cancelled
    assert m.characters_count == len("Counted characters.")
    assert m.audio_duration == pytest.approx(seconds(frames))
    assert m.request_id == only_context(srv)  # the context id sent to Cartesia
    assert (m.model, m.provider) == ("sonic-2", "cartesia")
    assert 0 <= m.ttfb <= m.duration


@pytest.mark.parametrize("status", [429, 500])
async def test_rate_limit_and_server_errors_are_retried(srv: FakeCartesia, status: int) -> None:
    srv.fail_next(status, retry_after=0.1 if status == 429 else None)
    tts = make_tts(srv)
    errors: list[TTSError] = []
    tts.on("error", errors.append)
    async with tts.stream(conn_options=RETRYING) as stream:
        stream.push_text("Second attempt.")
        stream.end_input()
        frames = [f async for f in stream]
    assert seconds(frames) == pytest.approx(0.14, abs=0.002)
    assert srv.handshakes == 2
    assert len(errors) == 1 and errors[0].recoverable
    err = errors[0].error
    assert isinstance(err, APIStatusError) and err.status_code == status
    if status == 429:
        assert err.retry_after == pytest.approx(0.1)


async def test_drop_before_audio_is_retried_with_the_whole_text(srv: FakeCartesia) -> None:
    srv.disconnect_next(after=0)
    tts = make_tts(srv)
    async with tts.stream(conn_options=RETRYING) as stream:
        stream.push_text("Replayed ")
        stream.push_text("text.")
        stream.end_input()
        frames = [f async for f in stream]
    assert srv.handshakes == 2
    ctx = srv.contexts[only_context(srv)]
    assert ctx.transcript == "Replayed text." and ctx.closed
    assert seconds(frames) == pytest.approx(0.13, abs=0.002)


async def test_silent_socket_before_audio_is_replaced(srv: FakeCartesia) -> None:
    gate = srv.hold_next(after=0)  # accepted, then silent
    tts = make_tts(srv)
    opts = APIConnectOptions(max_retry=2, retry_interval=0.05, timeout=0.3)
    async with tts.stream(conn_options=opts) as stream:
        stream.push_text("Eventually.")
        stream.end_input()
        frames = [f async for f in stream]
    gate.set()
    assert len(srv.sockets) == 2
    assert seconds(frames) == pytest.approx(0.11, abs=0.002)


async def test_drop_after_audio_fails_instead_of_repeating_it(srv: FakeCartesia) -> None:
    srv.disconnect_next(after=2)
    tts = make_tts(srv)
    got: list[SynthesizedAudio] = []
    async with tts.stream(conn_options=RETRYING) as stream:
        stream.push_text("This sentence is long enough for several chunks.")
        stream.end_input()
        with pytest.raises(APIConnectionError, match="dropped"):
            async for frame in stream:
                got.append(frame)
    assert got  # audio was played before the drop
    assert srv.handshakes == 1


async def test_stall_after_audio_times_out(srv: FakeCartesia) -> None:
    srv.stall_next(after=1)
    tts = make_tts(srv)
    opts = APIConnectOptions(max_retry=3, retry_interval=0.05, timeout=0.3)
    async with tts.stream(conn_options=opts) as stream:
        stream.push_text("Stalls after the first chunk of audio.")
        stream.end_input()
        with pytest.raises(APITimeoutError, match="sent nothing"):
            async for _ in stream:
                pass
    assert srv.handshakes == 1


async def test_unanswered_handshake_times_out(srv: FakeCartesia) -> None:
    srv.stall_next()
    tts = make_tts(srv)
    async with tts.stream(conn_options=APIConnectOptions(max_retry=0, timeout=0.3)) as stream:
        stream.push_text("Hello.")
        with pytest.raises(APITimeoutError, match="did not accept"):
            async for _ in stream:
                pass


async def test_error_messages_map_to_errors(srv: FakeCartesia) -> None:
    srv.error_next(503, "Overloaded, try again")
    srv.error_next(400, "Voice not found")
    tts = make_tts(srv)
    errors: list[TTSError] = []
    tts.on("error", errors.append)
    async with tts.stream(conn_options=RETRYING) as stream:
        stream.push_text("Hello.")
        stream.end_input()
        with pytest.raises(APIStatusError, match="Voice not found") as info:
            async for _ in stream:
                pass
    assert info.value.status_code == 400 and not info.value.retryable
    assert [e.recoverable for e in errors] == [True, False]
    assert "Overloaded" in str(errors[0].error)


async def test_unreachable_server_is_a_connection_error() -> None:
    tts = cartesia.TTS(api_key="k", base_url="http://127.0.0.1:9")
    async with tts.stream(conn_options=NO_RETRY) as stream:
        stream.push_text("Hello.")
        with pytest.raises(APIConnectionError):
            async for _ in stream:
                pass


async def test_many_small_pieces_stream_through(srv: FakeCartesia) -> None:
    """LLM deltas arrive token by token: each is forwarded at once, in order."""
    tts = make_tts(srv)
    words = ["The", "quick", "brown", "fox", "jumps", "over", "the", "lazy", "dog"]
    async with tts.stream(conn_options=NO_RETRY) as stream:

        async def feed() -> None:
            for i, word in enumerate(words):
                stream.push_text(word if i == 0 else " " + word)
                await asyncio.sleep(0)
            stream.end_input()

        feeder = asyncio.create_task(feed())
        frames = [f async for f in stream]
        await feeder
    assert srv.contexts[only_context(srv)].transcript == " ".join(words)
    assert seconds(frames) == pytest.approx(0.01 * 35, abs=0.002)
