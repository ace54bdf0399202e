"""An "end the call" tool: ``session.aclose()`` / ``session.drain()`` awaited inside a tool.

Both used to wait for the reply that was waiting for the tool. Every run has a timeout, so a
regression fails instead of hanging.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, TypeVar

import pytest

from livekit.agents import Agent, AgentSession, RunContext, function_tool
from livekit.agents.llm import ChatMessage
from livekit.agents.testing import FakeLLM, FakeResponse, FakeToolCall

T = TypeVar("T")
TIMEOUT = 10.0


async def bounded(aw: Awaitable[T]) -> T:
    return await asyncio.wait_for(aw, TIMEOUT)


class Caller(Agent):
    def __init__(self, how: str) -> None:
        super().__init__(instructions="You end calls.")
        self.how = how
        self.returned_from_close = False

    @function_tool
    async def end_call(self, ctx: RunContext) -> str:
        """End the call."""
        if self.how == "aclose":
            await ctx.session.aclose()
        else:
            await ctx.session.drain()
        self.returned_from_close = True
        return "call ended"


class _Closed:
    def __init__(self) -> None:
        self.events: list[Any] = []
        self.done = asyncio.Event()

    def __call__(self, ev: Any) -> None:
        self.events.append(ev)
        self.done.set()


async def _session(how: str) -> tuple[AgentSession[Any], Caller, _Closed]:
    llm = FakeLLM([FakeResponse(tool_calls=[FakeToolCall("end_call", {})]), "Goodbye!"])
    session: AgentSession[Any] = AgentSession(llm=llm)
    agent = Caller(how)
    closed = _Closed()
    session.on("close", closed)
    await session.start(agent)
    return session, agent, closed


@pytest.mark.parametrize("how", ["aclose", "drain"])
async def test_closing_from_a_tool_returns_and_closes_the_session(how: str) -> None:
    session, agent, closed = await _session(how)
    await bounded(session.run(user_input="bye"))
    await bounded(closed.done.wait())
    assert agent.returned_from_close
    assert len(closed.events) == 1 and closed.events[0].reason.value == "user_initiated"
    await bounded(session.aclose())  # closing again is a no-op


async def test_drain_from_a_tool_lets_the_reply_finish_first() -> None:
    session, _, closed = await _session("drain")
    await bounded(session.run(user_input="bye"))
    await bounded(closed.done.wait())
    said = [m.text_content for m in session.history.items if isinstance(m, ChatMessage) and m.role == "assistant"]
    assert said == ["Goodbye!"]
