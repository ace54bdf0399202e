"""Smart Turn on real (synthesized) speech: finished turns end fast, cut sentences wait."""

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

from livekit.agents import Agent, AgentSession, registry, turn
from livekit.agents.llm import ChatContext
from livekit.agents.metrics import EOUMetrics
from livekit.agents.utils.audio import AudioConverter, merge_frames, read_wav
from livekit.plugins import turn_detector
from livekit.plugins.turn_detector import SmartTurnDetector, _model
from livekit.plugins.turn_detector.detector import trim_trailing_silence

HERE = Path(__file__).parent
META: dict[str, dict[str, Any]] = json.loads((HERE / "fixtures.json").read_text())
COMPLETE = [name for name, m in META.items() if m["complete"]]
CUT = [name for name, m in META.items() if not m["complete"]]


def clip(name: str) -> rtc.AudioFrame:
    """A fixture as one frame: 0.5 s of quiet, the speech, 1 s of quiet (16 kHz mono)."""
    return merge_frames(read_wav(HERE / name)[2])


def silence(seconds: float, rate: int = 16000) -> rtc.AudioFrame:
    samples = int(seconds * rate)
    noise = np.random.default_rng(5).normal(0.0, 10.0, samples).astype(np.int16)
    return rtc.AudioFrame(noise.tobytes(), rate, 1, samples)


async def predict(detector: SmartTurnDetector, audio: rtc.AudioFrame | None) -> float:
    return await detector.predict_end_of_turn(ChatContext.empty(), audio=audio)


def test_resolves_by_string_and_fits_the_protocol() -> None:
    detector = registry.resolve("turn_detector", "semantic")
    assert isinstance(detector, SmartTurnDetector)
    assert isinstance(detector, turn.TurnDetector)
    assert detector.needs_audio is True
    assert detector.sample_rate == 16000
    assert detector.model == "smart-turn-v3.2"
    tuned = registry.resolve("turn_detector", "semantic", unlikely_threshold=0.3)
    assert asyncio.run(tuned.unlikely_threshold("en")) == 0.3


@pytest.mark.parametrize("name", COMPLETE)
async def test_a_finished_sentence_ends_the_turn(name: str) -> None:
    detector = SmartTurnDetector()
    probability = await predict(detector, clip(name))
    assert probability > 0.9, META[name]["text"]
    assert probability >= await detector.unlikely_threshold("en")


@pytest.mark.parametrize("name", CUT)
async def test_a_sentence_cut_midway_makes_the_session_wait(name: str) -> None:
    detector = SmartTurnDetector()
    probability = await predict(detector, clip(name))
    assert probability < await detector.unlikely_threshold("en"), META[name]["text"]


@pytest.mark.parametrize("extra", [0.0, 0.5, 2.0])
async def test_the_length_of_the_pause_does_not_change_the_answer(extra: float) -> None:
    # the session asks after the VAD's silence timeout and the STT's final: the turn audio ends
    # with anything from half a second to seconds of silence
    detector = SmartTurnDetector()
    for name in META:
        audio = merge_frames([clip(name), silence(extra)]) if extra else clip(name)
        probability = await predict(detector, audio)
        assert (probability >= 0.5) == META[name]["complete"], (name, extra, probability)


def test_trailing_silence_is_cut_to_a_short_pause() -> None:
    for name, meta in META.items():
        audio = np.frombuffer(clip(name).data, dtype=np.int16).astype(np.float32) / 32768
        trimmed = trim_trailing_silence(audio)
        kept = len(trimmed) / 16000 - meta["speech_end"]
        assert 0.1 <= kept <= 0.25, (name, kept)
    quiet = np.zeros(16000, dtype=np.float32)
    assert len(trim_trailing_silence(quiet)) == len(quiet)  # nothing to tell apart: unchanged


async def test_any_rate_and_channel_count_is_accepted() -> None:
    detector = SmartTurnDetector()
    for name in ("question.wav", "order_cut.wav"):
        converter = AudioConverter(48000, 2)
        frames = converter.push(clip(name)) + converter.flush()
        probability = await predict(detector, merge_frames(frames))
        assert (probability >= 0.5) == META[name]["complete"]


async def test_only_the_last_eight_seconds_count() -> None:
    detector = SmartTurnDetector()
    # a finished question long ago, then the cut sentence: the turn is still unfinished
    long_turn = merge_frames([clip("question.wav"), silence(6.0), clip("order_cut.wav")])
    assert await predict(detector, long_turn) < 0.5


async def test_without_audio_the_session_does_not_wait() -> None:
    detector = SmartTurnDetector()
    assert await predict(detector, None) == 1.0
    assert await predict(detector, rtc.AudioFrame(b"", 16000, 1, 0)) == 1.0


async def test_languages() -> None:
    detector = SmartTurnDetector(unlikely_threshold=0.4)
    for lang in ("en", "en-US", "fr", "pt_BR", "zh", "nb", None):
        assert await detector.unlikely_threshold(lang) == 0.4
        assert await detector.supports_language(lang)
    for lang in ("el", "sw", "he"):
        assert await detector.unlikely_threshold(lang) is None
        assert not await detector.supports_language(lang)
    only_en = SmartTurnDetector(languages={"en"})
    assert await only_en.unlikely_threshold("fr") is None
    assert "en" in turn_detector.SUPPORTED_LANGUAGES and len(turn_detector.SUPPORTED_LANGUAGES) == 23


def test_bad_options_fail_clearly(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unlikely_threshold"):
        SmartTurnDetector(unlikely_threshold=1.5)
    with pytest.raises(ValueError, match="cpu_threads"):
        SmartTurnDetector(cpu_threads=0)
    with pytest.raises(FileNotFoundError, match="not found"):
        SmartTurnDetector(model_path=str(tmp_path / "missing.onnx"))


async def test_a_broken_model_file_fails_the_prediction(tmp_path: Path) -> None:
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a model")
    detector = SmartTurnDetector(model_path=str(bad))
    with pytest.raises(Exception, match=r"(?i)protobuf|invalid|load|parse"):
        await predict(detector, clip("question.wav"))


class _ThreadRecorder:
    """Wraps the shared ONNX session to see which thread runs the model."""

    def __init__(self, session: Any) -> None:
        self._session = session
        self.threads: set[int] = set()

    def run(self, *args: Any, **kwargs: Any) -> Any:
        self.threads.add(threading.get_ident())
        return self._session.run(*args, **kwargs)


async def test_one_model_per_process_run_off_the_event_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    a, b = SmartTurnDetector(), SmartTurnDetector(unlikely_threshold=0.3)
    session = _model.load_session(None, 1)
    recorder = _ThreadRecorder(session)
    monkeypatch.setitem(_model._sessions, (None, 1), recorder)
    results = await asyncio.gather(
        predict(a, clip("question.wav")), predict(b, clip("order_cut.wav")),
        predict(a, clip("order_cut.wav")),
    )
    assert results[0] > 0.5 > results[1]
    assert results[2] == pytest.approx(results[1], abs=1e-6)
    assert recorder.threads and threading.get_ident() not in recorder.threads
    assert len(recorder.threads) == 1  # one inference thread serves every detector


async def test_timeout_is_enforced() -> None:
    detector = SmartTurnDetector()
    blocker = threading.Event()
    _model.executor().submit(blocker.wait)  # the inference thread is busy
    try:
        with pytest.raises(asyncio.TimeoutError):
            await detector.predict_end_of_turn(ChatContext.empty(), audio=clip("question.wav"), timeout=0.05)
    finally:
        blocker.set()


def test_load_and_prewarm_hook() -> None:
    from livekit.agents.worker.job import JobProcess

    proc = JobProcess()
    detector = turn_detector.prewarm(proc)
    assert proc.userdata["turn_detector"] is detector
    assert (None, 1) in _model._sessions
    assert isinstance(SmartTurnDetector.load(unlikely_threshold=0.4), SmartTurnDetector)


def test_importing_the_plugin_is_cheap() -> None:
    code = (
        "import sys; import livekit.plugins.turn_detector as t; "
        "assert 'onnxruntime' not in sys.modules, 'onnxruntime imported'; print(t.__version__)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == turn_detector.__version__


# -- through a voice session --------------------------------------------------------------


class _RecordingDetector(SmartTurnDetector):
    def __init__(self) -> None:
        super().__init__()
        self.probabilities: list[float] = []

    async def predict_end_of_turn(self, chat_ctx: ChatContext, **kwargs: Any) -> float:
        p = await super().predict_end_of_turn(chat_ctx, **kwargs)
        self.probabilities.append(p)
        return p


async def end_of_turn_delay(name: str) -> tuple[float, float]:
    """Speak a fixture into a session; returns (the endpointing delay it chose, probability)."""
    from livekit.agents.testing import FakeLLM, FakeSTT, FakeTTS, FakeVAD
    from livekit.agents.voice.io import QueueAudioInput

    detector = _RecordingDetector()
    session: AgentSession[None] = AgentSession(
        stt=FakeSTT([META[name]["text"]]),
        llm=FakeLLM(default="Okay."),
        tts=FakeTTS(),
        vad=FakeVAD(min_silence_duration=0.3),
        turn_detection=detector,
        min_endpointing_delay=0.2,
        max_endpointing_delay=1.5,
    )
    eou: asyncio.Future[EOUMetrics] = asyncio.get_running_loop().create_future()

    def on_metrics(ev: Any) -> None:
        if isinstance(ev.metrics, EOUMetrics) and not eou.done():
            eou.set_result(ev.metrics)

    session.on("metrics_collected", on_metrics)
    await session.start(Agent(instructions="You are a test agent."))
    audio = QueueAudioInput()
    session.input.audio = audio
    for frame in read_wav(HERE / name)[2]:
        audio.push_frame(frame)
    try:
        metrics = await asyncio.wait_for(eou, 20)
    finally:
        await session.aclose()
    assert detector.probabilities, "the session did not ask the detector"
    return metrics.endpointing_delay, detector.probabilities[-1]


async def test_the_session_waits_longer_for_a_cut_sentence_than_for_a_question() -> None:
    question_delay, question_p = await end_of_turn_delay("question.wav")
    cut_delay, cut_p = await end_of_turn_delay("phone_cut.wav")
    assert question_p >= 0.5 > cut_p
    # the question is answered after the minimum delay, the cut sentence only after the maximum
    # (the decision the session recorded, not a wall-clock measurement)
    assert (question_delay, cut_delay) == (0.2, 1.5)


async def test_livekit_agents_import_names_run_unchanged() -> None:
    from livekit.plugins.turn_detector.english import EnglishModel
    from livekit.plugins.turn_detector.multilingual import MultilingualModel

    multilingual = MultilingualModel()
    english = EnglishModel(unlikely_threshold=0.3)
    assert isinstance(multilingual, SmartTurnDetector) and isinstance(english, turn.TurnDetector)
    assert await multilingual.unlikely_threshold("de") == 0.5
    assert await english.unlikely_threshold("en-US") == 0.3
    assert await english.unlikely_threshold("de") is None  # other languages: min delay alone
    assert await predict(english, clip(COMPLETE[0])) > 0.9
    session = AgentSession(turn_detection=MultilingualModel(), vad=registry.resolve("vad", "fake"))
    assert isinstance(session.turn_detection, MultilingualModel)
    with pytest.raises(ValueError, match="unlikely_threshold"):
        EnglishModel(unlikely_threshold=2.0)
