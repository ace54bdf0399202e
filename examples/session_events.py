"""Session events: watch what happens in a voice session, sync and async handlers alike.

Runs a full voice turn with fake providers (no keys, no audio device):

    python examples/session_events.py console --input examples/assets/tone_question.wav
"""

from __future__ import annotations

import logging

from livekit.agents import Agent, AgentSession, JobContext, cli
from livekit.agents.metrics import UsageCollector
from livekit.agents.testing import FakeLLM, FakeSTT, FakeTTS, FakeVAD

logger = logging.getLogger("events-example")


def make_session() -> AgentSession[None]:
    session: AgentSession[None] = AgentSession(
        stt=FakeSTT(["what time do you open tomorrow"]),
        llm=FakeLLM(["We open at nine tomorrow."]),
        tts=FakeTTS(),
        vad=FakeVAD(),
    )
    usage = UsageCollector()

    @session.on("user_speech_started")
    def on_user_started(ev: object) -> None:
        print("[event] user started speaking")

    @session.on("user_speech_ended")
    def on_user_ended(ev: object) -> None:
        print(f"[event] user said: {ev.transcript}")  # type: ignore[attr-defined]

    @session.on("agent_speech_started")
    async def on_agent_started(ev: object) -> None:  # async handlers work too
        print("[event] agent started speaking")

    @session.on("agent_speech_ended")
    def on_agent_ended(ev: object) -> None:
        print(f"[event] agent finished (interrupted={ev.interrupted})")  # type: ignore[attr-defined]

    @session.on("metrics_collected")
    def on_metrics(ev: object) -> None:
        usage.collect(ev.metrics)  # type: ignore[attr-defined]

    @session.on("close")
    def on_close(ev: object) -> None:
        print(f"[event] session closed; usage: {usage.get_summary()}")

    return session


async def entrypoint(ctx: JobContext) -> None:
    await ctx.connect()
    await make_session().start(agent=Agent(instructions="You answer questions about opening hours."),
                               room=ctx.room)


if __name__ == "__main__":
    cli.run_app(entrypoint)
