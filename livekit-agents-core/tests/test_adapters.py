"""Retries, fallback adapters and stream adapters."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
import pytest
from livekit import rtc

from livekit.agents import APIConnectionError, APIConnectOptions, APIStatusError, ChatContext
from livekit.agents._retry import RetryBudget
from livekit.agents.llm import LLM, ChatChunk, ChoiceDelta, LLMStream
from livekit.agents.llm import FallbackAdapter as LLMFallback
from livekit.agents.stt import FallbackAdapter as STTFallback
from livekit.agents.stt import SpeechEventType
from livekit.agents.stt import StreamAdapter as STTStreamAdapter
from livekit.agents.testing import FakeSTT, FakeTTS, FakeVAD
from livekit.agents.tts import FallbackAdapter as TTSFallback
from livekit.agents.tts import StreamAdapter as TTSStreamAdapter

FAST = APIConnectOptions(max_retry=3, retry_interval=0.01, timeout=1.0)


def test_retry_budget_backoff_and_retry_after() -> None:
    budget = RetryBudget(APIConnectOptions(max_retry=3, retry_interval=0.5, timeout=5.0))
    err = APIConnectionError("x")
    assert budget.next_delay(err) == pytest.approx(0.1)
    assert budget.next_delay(err) == pytest.approx(0.5)
    assert budget.next_delay(APIStatusError("slow down", status_code=429, retry_after=2.0)) == pytest.approx(2.0)
    assert budget.next_delay(err) is None  # budget spent


def test_retry_budget_refuses_non_retryable_and_long_retry_after() -> None:
    budget = RetryBudget(APIConnectOptions(max_retry=3, retry_interval=0.5, timeout=5.0))
    assert budget.next_delay(APIStatusError("bad key", status_code=401)) is None
    assert budget.next_delay(APIStatusError("later", status_code=429, retry_after=60)) is None
    assert budget.next_delay(ValueError("bug")) is None
    assert APIStatusError("x", status_code=500).retryable
    assert APIStatusError("x", status_code=408).retryable
    assert not APIStatusError("x", status_code=403).retryable


def test_retry_budget_resets_after_a_healthy_period(monkeypatch: pytest.MonkeyPatch) -> None:
    import livekit.agents._retry as retry

    now = [1000.0]
    monkeypatch.setattr(retry.time, "monotonic", lambda: now[0])
    budget = RetryBudget(APIConnectOptions(max_retry=1, retry_interval=0.1))
    assert budget.next_delay(APIConnectionError()) is not None
    assert budget.next_delay(APIConnectionError()) is None
    now[0] += retry.HEALTHY_PERIOD + 1
    assert budget.next_delay(APIConnectionError()) is not None


class FlakyLLM(LLM):
    """Fails ``failures`` times with ``error``, then streams ``text``."""

    def __init__(self, text: str, *, failures: int = 0, error: Exception | None = None, fail_after_text: bool = False) -> None:
        super().__init__()
        self.text = text
        self.failures = failures
        self.error = error or APIConnectionError("connection reset")
        self.fail_after_text = fail_after_text
        self.attempts = 0

    def chat(self, *, chat_ctx: ChatContext, tools: Any = None, conn_options: APIConnectOptions = FAST, **_: Any) -> LLMStream:
        return _FlakyStream(self, chat_ctx=chat_ctx, tools=tools, conn_options=conn_options)


class _FlakyStream(LLMStream):
    async def _run(self) -> None:
        llm: FlakyLLM = self._llm  # type: ignore[assignment]
        llm.attempts += 1
        if llm.fail_after_text:
            self._event_ch.send_nowait(ChatChunk(id="1", delta=ChoiceDelta(content="partial ")))
        if llm.attempts <= llm.failures:
            raise llm.error
        self._event_ch.send_nowait(ChatChunk(id="1", delta=ChoiceDelta(content=llm.text)))


def _ctx() -> ChatContext:
    ctx = ChatContext.empty()
    ctx.add_message(role="user", content="hi")
    return ctx


async def test_llm_stream_retries_then_succeeds() -> None:
    llm = FlakyLLM("hello", failures=2)
    errors: list[Any] = []
    llm.on("error", errors.append)
    out = await llm.chat(chat_ctx=_ctx(), conn_options=FAST).collect()
    assert out.text == "hello" and llm.attempts == 3
    assert [e.recoverable for e in errors] == [True, True]


async def test_llm_stream_is_not_retried_after_output() -> None:
    llm = FlakyLLM("hello", failures=5, fail_after_text=True)
    with pytest.raises(APIConnectionError):
        await llm.chat(chat_ctx=_ctx(), conn_options=FAST).collect()
    assert llm.attempts == 1


async def test_llm_fallback_switches_and_recovers() -> None:
    primary = FlakyLLM("from primary", failures=1)
    backup = FlakyLLM("from backup")
    adapter = LLMFallback([primary, backup], retry_interval=0.05)
    changes: list[tuple[str, bool]] = []
    adapter.on("llm_availability_changed", lambda ev: changes.append((ev.llm.text, ev.available)))
    out = await adapter.chat(chat_ctx=_ctx()).collect()
    assert out.text == "from backup"
    for _ in range(100):  # the background probe finds the primary healthy again
        if changes[-1:] == [("from primary", True)]:
            break
        await asyncio.sleep(0.02)
    assert changes == [("from primary", False), ("from primary", True)]
    out = await adapter.chat(chat_ctx=_ctx()).collect()
    assert out.text == "from primary"
    await adapter.aclose()


async def test_llm_fallback_all_failing() -> None:
    adapter = LLMFallback([FlakyLLM("a", failures=9), FlakyLLM("b", failures=9)], retry_interval=10)
    with pytest.raises(APIConnectionError, match="all LLMs failed"):
        await adapter.chat(chat_ctx=_ctx()).collect()
    await adapter.aclose()


def _speech(seconds: float, rate: int = 16000) -> list[rtc.AudioFrame]:
    frames = []
    n = rate // 50
    for i in range(int(seconds * 50)):
        t = (np.arange(n) + i * n) / rate
        frames.append(rtc.AudioFrame((0.3 * 32767 * np.sin(2 * np.pi * 200 * t)).astype(np.int16).tobytes(), rate, 1, n))
    return frames


def _silence(seconds: float, rate: int = 16000) -> list[rtc.AudioFrame]:
    n = rate // 50
    return [rtc.AudioFrame(bytes(n * 2), rate, 1, n) for _ in range(int(seconds * 50))]


async def test_stt_stream_adapter_makes_batch_stt_streamable() -> None:
    batch = FakeSTT(["first utterance", "second utterance"], streaming=False)
    adapter = STTStreamAdapter(stt=batch, vad=FakeVAD(min_silence_duration=0.2))
    stream = adapter.stream()
    for f in _speech(0.5) + _silence(0.4) + _speech(0.5) + _silence(0.4):
        stream.push_frame(f)
    stream.end_input()
    events = [ev async for ev in stream]
    kinds = [ev.type for ev in events]
    edges = [k for k in kinds if k != SpeechEventType.FINAL_TRANSCRIPT]
    assert edges == [SpeechEventType.START_OF_SPEECH, SpeechEventType.END_OF_SPEECH] * 2
    # each final comes after the end of its utterance (recognition runs while audio continues)
    assert kinds.index(SpeechEventType.FINAL_TRANSCRIPT) > kinds.index(SpeechEventType.END_OF_SPEECH)
    finals = [ev.alternatives[0].text for ev in events if ev.type == SpeechEventType.FINAL_TRANSCRIPT]
    assert finals == ["first utterance", "second utterance"]


async def test_stt_fallback_on_batch_failure() -> None:
    bad = FakeSTT(["never"], streaming=False, error=APIConnectionError("down"))
    good = FakeSTT(["hello"], streaming=False)
    adapter = STTFallback([bad, good], vad=FakeVAD())
    ev = await adapter.recognize(_speech(0.3))
    assert ev.alternatives[0].text == "hello"
    await adapter.aclose()


async def test_stt_fallback_needs_vad_for_batch_members() -> None:
    with pytest.raises(ValueError, match="pass vad="):
        STTFallback([FakeSTT(streaming=False)])


async def test_tts_stream_adapter_speaks_sentence_by_sentence() -> None:
    batch = FakeTTS(streaming=False, seconds_per_char=0.01)
    adapter = TTSStreamAdapter(tts=batch)
    stream = adapter.stream()
    stream.push_text("Hello there, this is the first sentence. And here")
    first = await stream.__anext__()  # audio arrives before the input ends
    assert first.frame.sample_rate == 24000
    stream.push_text(" is the second one.")
    stream.end_input()
    rest = [ev async for ev in stream]
    assert batch.texts == ["Hello there, this is the first sentence.", "And here is the second one."]
    total = first.frame.duration + sum(ev.frame.duration for ev in rest)
    assert total == pytest.approx(0.01 * sum(len(t) for t in batch.texts), abs=0.02)


async def test_tts_fallback_resamples_and_switches() -> None:
    bad = FakeTTS(sample_rate=16000, error=APIConnectionError("down"))
    good = FakeTTS(sample_rate=22050, seconds_per_char=0.01)
    adapter = TTSFallback([bad, good])
    assert adapter.sample_rate == 22050
    frame = await adapter.synthesize("Hello world.").collect()
    assert frame.sample_rate == 22050 and frame.duration == pytest.approx(0.12, abs=0.02)
    stream = adapter.stream()
    stream.push_text("Streaming text.")
    stream.end_input()
    frames = [ev.frame async for ev in stream]
    assert frames and {f.sample_rate for f in frames} == {22050}
    await adapter.aclose()
