"""Silero VAD on real (synthesized) speech: timing, rates, silence, sharing, threading."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from livekit import rtc

from livekit.agents import registry
from livekit.agents.metrics import VADMetrics
from livekit.agents.utils.audio import AudioConverter, read_wav
from livekit.agents.vad import VADEvent, VADEventType
from livekit.plugins import silero
from livekit.plugins.silero import _model

HERE = Path(__file__).parent
SPEECH = HERE / "speech_16k.wav"
SPAN = json.loads((HERE / "fixtures.json").read_text())["speech_16k.wav"]
START, END = SPAN["speech_start"], SPAN["speech_end"]
#: one model window: the resolution of every timing below
WINDOW = 0.032


def speech_frames(rate: int = 16000, channels: int = 1, frame_ms: int = 20) -> list[rtc.AudioFrame]:
    _, _, frames = read_wav(SPEECH, frame_ms=frame_ms)
    if rate == 16000 and channels == 1:
        return frames
    converter = AudioConverter(rate, channels)
    out = [g for f in frames for g in converter.push(f)] + converter.flush()
    # back to fixed 20 ms frames, as a real source sends them
    pcm = b"".join(bytes(f.data) for f in out)
    size = rate * frame_ms // 1000
    step = size * channels * 2
    return [
        rtc.AudioFrame(pcm[i : i + step], rate, channels, size)
        for i in range(0, len(pcm) - step + 1, step)
    ]


def noise_frames(seconds: float, level: float, rate: int = 16000, seed: int = 1) -> list[rtc.AudioFrame]:
    rng = np.random.default_rng(seed)
    size = rate // 50
    pcm = np.clip(rng.normal(0.0, level, int(seconds * rate)), -32768, 32767).astype(np.int16)
    return [
        rtc.AudioFrame(pcm[i : i + size].tobytes(), rate, 1, size)
        for i in range(0, len(pcm) - size + 1, size)
    ]


async def run(vad: silero.VAD, frames: list[rtc.AudioFrame]) -> list[VADEvent]:
    stream = vad.stream()
    for f in frames:
        stream.push_frame(f)
    stream.end_input()
    events = [ev async for ev in stream]
    await stream.aclose()
    return events


def edges(events: list[VADEvent]) -> list[VADEvent]:
    return [e for e in events if e.type != VADEventType.INFERENCE_DONE]


def probabilities(events: list[VADEvent]) -> list[float]:
    return [e.probability for e in events if e.type == VADEventType.INFERENCE_DONE]


def check_speech_span(
    events: list[VADEvent], *, min_silence: float = 0.55, prefix: float = 0.5
) -> None:
    found = edges(events)
    assert [e.type for e in found] == [VADEventType.START_OF_SPEECH, VADEventType.END_OF_SPEECH]
    start, end = found
    # speech starts at START: the event comes once min_speech_duration (0.05 s) was heard
    assert START <= start.timestamp <= START + 0.05 + 3 * WINDOW
    assert start.probability >= 0.5
    assert start.speaking
    # the end comes min_silence_duration after the last word (the model trails off a little)
    assert END + min_silence - WINDOW <= end.timestamp <= END + min_silence + 4 * WINDOW
    assert end.speech_duration == pytest.approx(END - START, abs=4 * WINDOW)
    assert end.silence_duration >= min_silence
    assert not end.speaking
    # START carries the prefix padding before the speech; END the whole utterance
    padded = sum(f.duration for f in start.frames)
    assert prefix <= padded <= prefix + 4 * WINDOW
    heard = sum(f.duration for f in end.frames)
    assert heard == pytest.approx(prefix + end.speech_duration + end.silence_duration, abs=2 * WINDOW)


def test_resolves_by_string() -> None:
    vad = registry.resolve("vad", "silero")
    assert isinstance(vad, silero.VAD)
    assert vad.provider == "silero"
    assert vad.capabilities.update_interval == pytest.approx(WINDOW)
    tuned = registry.resolve("vad", "silero", min_silence_duration=0.3, sample_rate=8000)
    assert tuned.sample_rate == 8000


async def test_speech_span_at_16k() -> None:
    events = await run(silero.VAD(), speech_frames())
    check_speech_span(events)
    done = [e for e in events if e.type == VADEventType.INFERENCE_DONE]
    # one window every 32 ms: the 3.7 s clip gives 116 windows
    assert len(done) == int(SPAN["duration"] / WINDOW)
    # probabilities are high inside the speech and low in the quiet around it
    inside = [e.probability for e in done if START + 0.2 < e.timestamp < END - 0.2]
    outside = [e.probability for e in done if e.timestamp < START - 0.1 or e.timestamp > END + 0.3]
    assert np.median(inside) > 0.8
    assert max(outside) < 0.2
    assert all(e.inference_duration > 0 for e in done)


async def test_48k_stereo_input_keeps_its_format_in_events() -> None:
    events = await run(silero.VAD(), speech_frames(48000, 2))
    check_speech_span(events)
    for ev in edges(events):
        assert {(f.sample_rate, f.num_channels) for f in ev.frames} == {(48000, 2)}
    done = [e for e in events if e.type == VADEventType.INFERENCE_DONE]
    # each window's frame spans the same 32 ms of the input: 1536 samples at 48 kHz
    assert {f.samples_per_channel for e in done for f in e.frames} == {1536}


async def test_8k_input_and_8k_model() -> None:
    vad = silero.VAD(sample_rate=8000)
    assert vad.capabilities.update_interval == pytest.approx(WINDOW)
    events = await run(vad, speech_frames(8000, 1))
    check_speech_span(events)
    # an 8 kHz source with the default 16 kHz model is upsampled and works the same
    check_speech_span(await run(silero.VAD(), speech_frames(8000, 1)))


async def test_odd_frame_sizes_give_the_same_events() -> None:
    base = edges(await run(silero.VAD(), speech_frames()))
    odd = edges(await run(silero.VAD(), speech_frames(frame_ms=7)))
    assert [(e.type, e.timestamp) for e in odd] == [(e.type, e.timestamp) for e in base]


@pytest.mark.parametrize("level", [0.0, 30.0, 300.0])
async def test_silence_and_noise_give_no_speech(level: float) -> None:
    events = await run(silero.VAD(), noise_frames(3.0, level))
    assert edges(events) == []
    done = [e for e in events if e.type == VADEventType.INFERENCE_DONE]
    assert len(done) == int(3.0 / WINDOW)
    assert max(e.probability for e in done) < 0.5


async def test_streams_share_one_model_and_keep_their_own_state() -> None:
    a, b = silero.VAD(), silero.VAD(min_silence_duration=0.3)
    assert _model.get_runner(None) is _model.get_runner(None)
    solo = probabilities(await run(a, speech_frames()))
    quiet = probabilities(await run(a, noise_frames(3.0, 0.0)))
    # the same audio in several concurrent streams, interleaved with a stream of silence
    results = await asyncio.gather(
        run(a, speech_frames()), run(b, speech_frames()), run(a, noise_frames(3.0, 0.0)),
        run(b, speech_frames()),
    )
    for events in (results[0], results[1], results[3]):
        assert probabilities(events) == pytest.approx(solo, abs=1e-5)
    assert probabilities(results[2]) == pytest.approx(quiet, abs=1e-5)
    check_speech_span(results[0])
    check_speech_span(results[1], min_silence=0.3)
    assert len(_model._sessions) == 1  # one model in the process, whatever the VAD options


async def test_concurrent_streams_are_batched() -> None:
    runner = _model.get_runner(None)
    windows, batches = runner.windows, runner.batches
    await asyncio.gather(*(run(silero.VAD(), speech_frames()) for _ in range(8)))
    ran = runner.windows - windows
    assert ran == 8 * int(SPAN["duration"] / WINDOW)
    assert runner.batches - batches < ran  # some model runs served several streams


async def test_48k_input_gives_the_segments_and_probabilities_of_16k_input() -> None:
    base = await run(silero.VAD(), speech_frames())
    high = await run(silero.VAD(), speech_frames(48000, 1))
    check_speech_span(high)
    assert [e.type for e in edges(high)] == [e.type for e in edges(base)]
    for a, b in zip(edges(high), edges(base), strict=True):
        assert a.timestamp == pytest.approx(b.timestamp, abs=WINDOW + 1e-6)
    p16, p48 = probabilities(base), probabilities(high)
    assert abs(len(p48) - len(p16)) <= 1
    diff = np.abs(np.array(p48[: len(p16)]) - np.array(p16[: len(p48)]))
    assert np.median(diff) < 0.01  # same speech, through a resampler and back
    assert diff.max() < 0.2


async def test_a_rate_without_a_filter_table_still_works() -> None:
    # 16000/7999 needs more phases than the numpy resampler keeps: core's converter takes over
    events = await run(silero.VAD(), speech_frames(7999, 1))
    check_speech_span(events)


async def test_large_frames_give_the_same_events() -> None:
    frames = speech_frames(48000, 1)
    base = await run(silero.VAD(), frames)
    # the same audio in 250 ms frames: each completes several windows, run in one trip to
    # the model thread
    pcm = b"".join(bytes(f.data) for f in frames)
    step = 2 * 12000
    chunks = [pcm[i : i + step] for i in range(0, len(pcm), step)]
    large = await run(silero.VAD(), [rtc.AudioFrame(c, 48000, 1, len(c) // 2) for c in chunks])
    assert [(e.type, e.timestamp) for e in edges(large)] == [
        (e.type, e.timestamp) for e in edges(base)
    ]
    n = min(len(probabilities(base)), len(probabilities(large)))
    assert probabilities(large)[:n] == pytest.approx(probabilities(base)[:n], abs=1e-5)


async def test_a_backlog_goes_to_the_model_in_a_few_trips(monkeypatch: pytest.MonkeyPatch) -> None:
    runner = _model.get_runner(None)
    trips: list[int] = []
    infer = runner.infer

    async def counting(stream: Any, chunks: Any, count: int) -> Any:
        trips.append(count)
        return await infer(stream, chunks, count)

    monkeypatch.setattr(runner, "infer", counting)
    # every frame is queued before the stream reads any: up to 32 windows per trip
    events = await run(silero.VAD(), speech_frames())
    check_speech_span(events)
    windows = int(SPAN["duration"] / WINDOW)
    assert sum(trips) == windows
    assert max(trips) <= 32 and len(trips) < windows


async def test_format_changes_midstream() -> None:
    first = speech_frames(48000, 2)
    second = speech_frames()
    cut = len(first) // 2
    events = await run(silero.VAD(), first[:cut] + second[len(second) // 2 :])
    done = [e for e in events if e.type == VADEventType.INFERENCE_DONE]
    # every 32 ms of audio is analysed, whatever the format it came in
    assert len(done) == pytest.approx(SPAN["duration"] / WINDOW, abs=2)


async def test_frames_with_a_bad_format_are_refused() -> None:
    stream = silero.VAD().stream()
    with pytest.raises(ValueError, match="sample_rate=0"):
        stream.push_frame(rtc.AudioFrame(bytes(320), 0, 1, 160))
    with pytest.raises(ValueError, match="num_channels=0"):
        stream.push_frame(rtc.AudioFrame(bytes(320), 16000, 0, 160))
    await stream.aclose()


class _ThreadRecorder:
    """Wraps the shared ONNX session to see which thread runs the model."""

    def __init__(self, session: Any) -> None:
        self._session = session
        self.threads: set[int] = set()

    def run(self, *args: Any, **kwargs: Any) -> Any:
        self.threads.add(threading.get_ident())
        return self._session.run(*args, **kwargs)


async def test_inference_runs_off_the_event_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    session = _model.load_session(None)
    recorder = _ThreadRecorder(session)
    monkeypatch.setitem(_model._sessions, None, recorder)
    loop_ticks = 0

    async def ticker() -> None:
        nonlocal loop_ticks
        while True:
            loop_ticks += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    events = await run(silero.VAD(), speech_frames())
    task.cancel()
    check_speech_span(events)
    assert recorder.threads
    assert threading.get_ident() not in recorder.threads
    assert loop_ticks > len(events) // 2  # the loop kept running while the model ran


async def test_flush_ends_speech_in_progress() -> None:
    frames = speech_frames()
    stream = silero.VAD().stream()
    for f in frames[: int(2.0 / 0.02)]:  # stop in the middle of the sentence
        stream.push_frame(f)
    stream.flush()
    ended = None
    async for ev in stream:
        if ev.type == VADEventType.END_OF_SPEECH:
            ended = ev
            break
    assert ended is not None
    assert ended.timestamp == pytest.approx(2.0, abs=WINDOW)
    assert ended.speech_duration == pytest.approx(2.0 - START, abs=3 * WINDOW)
    # the stream goes on after a flush
    for f in frames[int(2.0 / 0.02) :]:
        stream.push_frame(f)
    stream.end_input()
    assert [e.type async for e in stream if e.type != VADEventType.INFERENCE_DONE][-1] == VADEventType.END_OF_SPEECH


async def test_update_options_applies_to_running_streams() -> None:
    vad = silero.VAD()
    stream = vad.stream()
    frames = speech_frames()
    for f in frames[:50]:
        stream.push_frame(f)
    vad.update_options(min_silence_duration=0.2, prefix_padding_duration=0.1)
    for f in frames[50:]:
        stream.push_frame(f)
    stream.end_input()
    found = edges([ev async for ev in stream])
    assert found[1].timestamp < END + 0.55  # the shorter silence ended the speech sooner
    check_speech_span(await run(vad, speech_frames()), min_silence=0.2, prefix=0.1)
    with pytest.raises(ValueError):
        vad.update_options(activation_threshold=1.5)


def test_bad_options_fail_clearly(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="8000 or 16000"):
        silero.VAD(sample_rate=44100)
    with pytest.raises(ValueError, match="activation_threshold"):
        silero.VAD(activation_threshold=0.0)
    with pytest.raises(ValueError, match="durations"):
        silero.VAD(min_silence_duration=-1)
    with pytest.raises(FileNotFoundError, match="not found"):
        silero.VAD(onnx_file_path=str(tmp_path / "missing.onnx"))


async def test_a_broken_model_file_fails_the_stream(tmp_path: Path) -> None:
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a model")
    vad = silero.VAD(onnx_file_path=str(bad))
    with pytest.raises(Exception, match=r"(?i)protobuf|invalid|load|parse"):
        await run(vad, speech_frames()[:10])


async def test_metrics_are_reported() -> None:
    vad = silero.VAD()
    collected: list[VADMetrics] = []
    vad.on("metrics_collected", collected.append)
    await run(vad, speech_frames())
    assert len(collected) == 3  # one per second of audio
    assert all(m.inference_count == 32 for m in collected)
    assert all(m.inference_duration_total > 0 and m.label == vad.label for m in collected)


def test_load_and_prewarm_hook() -> None:
    from livekit.agents.worker.job import JobProcess

    proc = JobProcess()
    vad = silero.prewarm(proc)
    assert proc.userdata["vad"] is vad
    assert isinstance(silero.VAD.load(min_silence_duration=0.3), silero.VAD)
    assert None in _model._sessions
    vad.prewarm()  # non-blocking; the model is already loaded


def test_importing_the_plugin_is_cheap() -> None:
    code = (
        "import sys; import livekit.plugins.silero as s; "
        "assert 'onnxruntime' not in sys.modules, 'onnxruntime imported'; print(s.__version__)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == silero.__version__


async def test_drives_the_turns_of_a_voice_session() -> None:
    from livekit.agents import Agent, AgentSession
    from livekit.agents.metrics import EOUMetrics
    from livekit.agents.testing import FakeLLM, FakeSTT, FakeTTS
    from livekit.agents.voice.io import QueueAudioInput

    session: AgentSession[None] = AgentSession(
        vad="silero",
        stt=FakeSTT([SPAN["text"]]),
        llm=FakeLLM(default="Sunny."),
        tts=FakeTTS(),
        min_endpointing_delay=0.1,
    )
    assert isinstance(session.vad, silero.VAD)
    loop = asyncio.get_running_loop()
    turn_done: asyncio.Future[EOUMetrics] = loop.create_future()
    vad_metrics: list[VADMetrics] = []

    def on_metrics(ev: Any) -> None:
        if isinstance(ev.metrics, VADMetrics):
            vad_metrics.append(ev.metrics)
        elif isinstance(ev.metrics, EOUMetrics) and not turn_done.done():
            turn_done.set_result(ev.metrics)

    session.on("metrics_collected", on_metrics)
    await session.start(Agent(instructions="You are a test agent."))
    audio = QueueAudioInput()
    session.input.audio = audio
    for frame in speech_frames(48000, 1):
        audio.push_frame(frame)
    try:
        await asyncio.wait_for(turn_done, 20)
    finally:
        await session.aclose()
    user_turns = [m for m in session.history.items if getattr(m, "role", None) == "user"]
    assert [m.text_content for m in user_turns] == [SPAN["text"]]
    assert vad_metrics and vad_metrics[0].label == session.vad.label
