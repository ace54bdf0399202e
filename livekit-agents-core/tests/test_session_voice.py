"""The voice pipeline with fake providers: turns, endpointing, interruptions, preemption, events."""

from __future__ import annotations

from typing import Any

from voice_harness import VoiceHarness

from livekit.agents import Agent, AgentSession, function_tool
from livekit.agents.testing import (
    FakeLLM,
    FakeResponse,
    FakeSTT,
    FakeToolCall,
    FakeTTS,
    FakeTurnDetector,
    FakeVAD,
)

LONG_REPLY = (
    "Here is a long answer that keeps going for quite a while so that there is plenty of time "
    "to interrupt it before it finishes playing out."
)


def make_session(**kwargs: Any) -> AgentSession[Any]:
    kwargs.setdefault("vad", FakeVAD(min_silence_duration=0.2))
    kwargs.setdefault("tts", FakeTTS(seconds_per_char=0.01))
    kwargs.setdefault("min_endpointing_delay", 0.2)
    kwargs.setdefault("user_away_timeout", None)
    return AgentSession(**kwargs)


async def test_a_spoken_turn_end_to_end() -> None:
    stt = FakeSTT(["what is the weather today"])
    llm = FakeLLM(["It is sunny. Enjoy your day!"])
    session = make_session(stt=stt, llm=llm)
    voice = VoiceHarness(session, output_rate=48000)
    await session.start(Agent(instructions="x"))
    await voice.silence(0.2)
    await voice.speak(0.8)
    await voice.silence_until(lambda: bool(voice.items("assistant")))
    names = voice.names()
    order = [n for n in names if n in ("user_speech_started", "user_speech_ended", "agent_speech_started",
                                       "agent_speech_ended")]
    assert order == ["user_speech_started", "user_speech_ended", "agent_speech_started", "agent_speech_ended"]
    assert voice.of("user_speech_ended")[0].transcript == "what is the weather today"
    assert voice.items("user")[0].text_content == "what is the weather today"
    assert voice.items("assistant")[0].text_content == "It is sunny. Enjoy your day!"
    # TTS audio (24 kHz) was resampled to the output's 48 kHz, and all of it was played
    assert {f.sample_rate for f in voice.played} == {48000}
    assert abs(sum(f.duration for f in voice.played) - 0.28) < 0.03
    eou = [ev.metrics for ev in voice.of("metrics_collected") if ev.metrics.type == "eou_metrics"]
    assert eou and eou[0].endpointing_delay == 0.2  # the decision, not the wall-clock wait
    await session.aclose()


async def test_user_interruption_records_only_what_was_heard() -> None:
    stt = FakeSTT(["tell me a story", "stop please"])
    llm = FakeLLM([LONG_REPLY, "Okay, stopping."])
    session = make_session(stt=stt, llm=llm, tts=FakeTTS(seconds_per_char=0.05))
    voice = VoiceHarness(session)
    await session.start(Agent(instructions="x"))
    await voice.speak(0.6)
    await voice.silence_until(lambda: session.agent_state == "speaking")
    await voice.silence(1.0)
    await voice.speak(0.8)  # the user talks over the agent
    await voice.silence_until(lambda: len(voice.items("assistant")) == 2)
    first = voice.items("assistant")[0]
    assert first.interrupted
    assert first.text_content and LONG_REPLY.startswith(first.text_content)
    assert len(first.text_content) < len(LONG_REPLY) / 2
    assert [m.text_content for m in voice.items("user")] == ["tell me a story", "stop please"]
    # the interrupted reply stopped playing: less audio than the full reply was heard
    ended = voice.of("agent_speech_ended")[0]
    assert ended.interrupted and ended.text == first.text_content
    await session.aclose()


async def test_false_interruption_resumes_the_agent() -> None:
    stt = FakeSTT(["tell me a story"], default="")  # the noise yields no transcript
    llm = FakeLLM([LONG_REPLY])
    session = make_session(stt=stt, llm=llm, tts=FakeTTS(seconds_per_char=0.02), false_interruption_timeout=0.4)
    voice = VoiceHarness(session)
    await session.start(Agent(instructions="x"))
    await voice.speak(0.6)
    await voice.silence_until(lambda: session.agent_state == "speaking")
    await voice.speak(0.6)  # a cough
    await voice.silence_until(lambda: bool(voice.items("assistant")), timeout=15)
    resumed = voice.of("agent_false_interruption")
    assert resumed and resumed[0].resumed is True
    reply = voice.items("assistant")[0]
    assert not reply.interrupted and reply.text_content == LONG_REPLY
    assert len(voice.items("user")) == 1
    await session.aclose()


async def test_backchannel_words_do_not_interrupt() -> None:
    stt = FakeSTT(["tell me a story", "mhm"])
    llm = FakeLLM([LONG_REPLY, "unexpected second reply"])
    session = make_session(stt=stt, llm=llm, tts=FakeTTS(seconds_per_char=0.02), backchannel_words=["mhm", "yeah"])
    voice = VoiceHarness(session)
    await session.start(Agent(instructions="x"))
    await voice.speak(0.6)
    await voice.silence_until(lambda: session.agent_state == "speaking")
    await voice.speak(0.5)  # "mhm"
    await voice.silence_until(lambda: bool(voice.items("assistant")), timeout=15)
    reply = voice.items("assistant")[0]
    assert not reply.interrupted and reply.text_content == LONG_REPLY
    assert [m.text_content for m in voice.items("user")] == ["tell me a story"]
    assert len(llm.requests) == 1
    await session.aclose()


async def test_min_interruption_words() -> None:
    stt = FakeSTT(["tell me a story", "no"])
    llm = FakeLLM([LONG_REPLY])
    session = make_session(stt=stt, llm=llm, tts=FakeTTS(seconds_per_char=0.02), min_interruption_words=2,
                           resume_false_interruption=False)
    voice = VoiceHarness(session)
    await session.start(Agent(instructions="x"))
    await voice.speak(0.6)
    await voice.silence_until(lambda: session.agent_state == "speaking")
    await voice.speak(0.6)  # "no": one word, under the threshold
    await voice.silence_until(lambda: bool(voice.items("assistant")), timeout=15)
    assert not voice.items("assistant")[0].interrupted
    await session.aclose()


async def test_uninterruptible_speech_plays_out() -> None:
    stt = FakeSTT(["hello", "wait stop"])
    llm = FakeLLM([LONG_REPLY])
    session = make_session(stt=stt, llm=llm, tts=FakeTTS(seconds_per_char=0.02), allow_interruptions=False)
    voice = VoiceHarness(session)
    await session.start(Agent(instructions="x"))
    await voice.speak(0.5)
    await voice.silence_until(lambda: session.agent_state == "speaking")
    await voice.speak(0.8)
    await voice.silence_until(lambda: bool(voice.items("assistant")), timeout=15)
    assert not voice.items("assistant")[0].interrupted
    await session.aclose()


async def test_turn_detector_waits_for_unfinished_sentences() -> None:
    detector = FakeTurnDetector()
    stt = FakeSTT(["my number is 415", "what time is it?"])
    llm = FakeLLM(["Got it.", "Noon."])
    session = make_session(stt=stt, llm=llm, turn_detection=detector, min_endpointing_delay=0.2,
                           max_endpointing_delay=1.5)
    voice = VoiceHarness(session)
    await session.start(Agent(instructions="x"))
    await voice.speak(0.5)
    await voice.silence_until(lambda: len(voice.items("assistant")) == 1)
    await voice.speak(0.5)
    await voice.silence_until(lambda: len(voice.items("assistant")) == 2)
    assert [p for _, p in detector.predictions] == [0.05, 0.9]
    eou = [ev.metrics for ev in voice.of("metrics_collected") if ev.metrics.type == "eou_metrics"]
    # waited the maximum for "my number is 415", the minimum after the complete question
    assert [m.endpointing_delay for m in eou] == [1.5, 0.2]
    await session.aclose()


async def test_stt_turn_detection_without_vad() -> None:
    stt = FakeSTT(["hello there"])
    llm = FakeLLM(["Hi!"])
    session = make_session(stt=stt, llm=llm, vad=None)
    assert session.turn_detection == "stt"
    voice = VoiceHarness(session)
    await session.start(Agent(instructions="x"))
    await voice.speak(0.6)
    await voice.silence_until(lambda: bool(voice.items("assistant")))
    assert voice.items("user")[0].text_content == "hello there"
    assert "user_speech_started" in voice.names()
    await session.aclose()


async def test_manual_turn_detection() -> None:
    stt = FakeSTT(["push to talk message"])
    llm = FakeLLM(["Heard you."])
    session = make_session(stt=stt, llm=llm, turn_detection="manual")
    voice = VoiceHarness(session)
    await session.start(Agent(instructions="x"))
    await voice.speak(0.6)
    await voice.silence(0.8)
    assert not voice.items("user")  # nothing happens until the turn is committed
    session.commit_user_turn()
    await voice.silence_until(lambda: bool(voice.items("assistant")))
    assert voice.items("user")[0].text_content == "push to talk message"
    await session.aclose()


async def test_preemptive_generation_starts_early_and_is_reused() -> None:
    stt = FakeSTT(["what's new"])
    llm = FakeLLM(["Not much."])
    session = make_session(stt=stt, llm=llm, preemptive_generation=True, min_endpointing_delay=0.8)
    voice = VoiceHarness(session)
    requests_at_commit: list[int] = []
    session.on("conversation_item_added",
               lambda ev: requests_at_commit.append(len(llm.requests)) if ev.item.role == "user" else None)
    await session.start(Agent(instructions="x"))
    await voice.speak(0.5)
    await voice.silence_until(lambda: bool(voice.items("assistant")))
    assert requests_at_commit == [1]  # the LLM was already running when the turn ended
    assert len(llm.requests) == 1  # and its result was used, not requested again
    assert voice.items("assistant")[0].text_content == "Not much."
    await session.aclose()


async def test_tool_call_in_a_voice_turn() -> None:
    @function_tool
    async def lights(on: bool) -> str:
        """Switch the lights."""
        return "lights on" if on else "lights off"

    stt = FakeSTT(["turn the lights on"])
    llm = FakeLLM([
        FakeResponse(text="One moment.", tool_calls=[FakeToolCall("lights", {"on": True})]),
        "Done, the lights are on.",
    ])
    session = make_session(stt=stt, llm=llm)
    voice = VoiceHarness(session)
    await session.start(Agent(instructions="x", tools=[lights]))
    await voice.speak(0.5)
    await voice.silence_until(lambda: len(voice.items("assistant")) == 2)
    assert [m.text_content for m in voice.items("assistant")] == ["One moment.", "Done, the lights are on."]
    executed = voice.of("function_tools_executed")[0]
    assert executed.function_call_outputs[0].output == "lights on"
    await session.aclose()


async def test_unrecoverable_errors_close_the_session() -> None:
    from livekit.agents import APIConnectionError

    stt = FakeSTT(["a", "b", "c", "d", "e"])
    llm = FakeLLM([FakeResponse(error=APIConnectionError("down", retryable=False))] * 5)
    session = make_session(stt=stt, llm=llm)
    closed: list[Any] = []
    session.on("close", closed.append)
    voice = VoiceHarness(session)
    await session.start(Agent(instructions="x"))
    for _ in range(4):
        await voice.speak(0.4)
        await voice.silence(0.6)
    await voice.silence_until(lambda: bool(closed))
    assert closed[0].reason.value == "error"
