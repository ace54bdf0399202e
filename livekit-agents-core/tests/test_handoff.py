"""Handoffs: ``session.handoff()`` / ``update_agent()`` from a tool, from a hook and from outside.

A tool that awaits ``session.handoff(agent)`` used to deadlock: the switch drains the current
agent, which waits for the reply whose tool is awaiting the switch. Every run here has a
timeout, so a regression fails instead of hanging.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Any, TypeVar

import pytest

from livekit.agents import Agent, AgentSession, RunContext, ToolError, function_tool
from livekit.agents.llm import AgentHandoff, FunctionCallOutput
from livekit.agents.testing import FakeLLM, FakeResponse, FakeToolCall

T = TypeVar("T")
TIMEOUT = 10.0


async def bounded(aw: Awaitable[T]) -> T:
    return await asyncio.wait_for(aw, TIMEOUT)


def call(*names: str) -> FakeResponse:
    return FakeResponse(tool_calls=[FakeToolCall(n, {}) for n in names])


class Tracked(Agent):
    """Records its hooks in a shared log."""

    def __init__(self, name: str, log: list[str], *, greet: bool = False) -> None:
        super().__init__(instructions=f"You are {name}.")
        self.name = name
        self.log = log
        self.greet = greet

    async def on_enter(self) -> None:
        self.log.append(f"enter:{self.name}")
        if self.greet:
            self.session.generate_reply()

    async def on_exit(self) -> None:
        self.log.append(f"exit:{self.name}")


class Front(Tracked):
    """Its tools hand off in the different ways a user may write it."""

    def __init__(self, log: list[str], target: Agent, *, other: Agent | None = None) -> None:
        super().__init__("front", log)
        self.target = target
        self.other = other
        self.seen_during_tool: Agent | None = None

    @function_tool
    async def transfer(self, ctx: RunContext) -> str:
        """Transfer the caller."""
        await ctx.session.handoff(self.target)
        self.seen_during_tool = ctx.session.current_agent
        return "transferred"

    @function_tool
    async def transfer_no_wait(self, ctx: RunContext) -> str:
        """Transfer the caller without waiting."""
        ctx.session.update_agent(self.target)
        return "transferred"

    @function_tool
    async def transfer_and_return(self, ctx: RunContext) -> Agent:
        """Call handoff, then return another agent."""
        assert self.other is not None
        await ctx.session.handoff(self.target)
        return self.other

    @function_tool
    async def transfer_twice(self, ctx: RunContext) -> str:
        """Change its mind."""
        assert self.other is not None
        await ctx.session.handoff(self.other)
        await ctx.session.handoff(self.target)
        return "transferred"

    @function_tool
    async def transfer_then_fail(self, ctx: RunContext) -> str:
        """Hand off, then fail."""
        await ctx.session.handoff(self.target)
        raise ToolError("the CRM is down")

    @function_tool
    async def transfer_other(self, ctx: RunContext) -> str:
        """Hand off to the other agent."""
        assert self.other is not None
        await ctx.session.handoff(self.other)
        return "ok"


async def started(agent: Agent, llm: FakeLLM) -> AgentSession[Any]:
    session: AgentSession[Any] = AgentSession(llm=llm)
    await bounded(session.start(agent))
    return session


async def test_awaited_handoff_inside_a_tool_switches_after_the_tool_step() -> None:
    log: list[str] = []
    sales = Tracked("sales", log, greet=True)
    front = Front(log, sales)
    llm = FakeLLM([call("transfer"), "Sales here, how can I help?"])
    session = await started(front, llm)

    result = await bounded(session.run(user_input="transfer me to sales"))

    # the tool went on after handoff() returned: the switch waits for the end of the tool step
    assert front.seen_during_tool is front
    assert session.current_agent is sales
    assert log == ["enter:front", "exit:front", "enter:sales"]
    result.expect.next_event().is_function_call(name="transfer")
    result.expect.next_event().is_function_call_output(output="transferred")
    result.expect.next_event().is_agent_handoff(new_agent_type=Tracked)
    result.expect.next_event().is_message(role="assistant")
    result.expect.no_more_events()

    # the old agent did not reply to the tool output: the second request is the new agent's
    assert len(llm.requests) == 2
    sent = llm.requests[1]["chat_ctx"]
    texts = [m.text_content for m in sent.messages()]
    assert texts[0] == "You are sales." and "You are front." not in texts
    assert "transfer me to sales" in texts
    assert any(isinstance(i, FunctionCallOutput) and i.output == "transferred" for i in sent.items)

    # the session history has the whole story, in order
    kinds = [i.type for i in session.history.items]
    assert kinds == ["message", "function_call", "function_call_output", "agent_handoff", "message"]
    assert session.history.messages()[-1].text_content == "Sales here, how can I help?"
    handoff = next(i for i in session.history.items if isinstance(i, AgentHandoff))
    assert handoff.old_agent_id == front.id and handoff.new_agent_id == sales.id

    # the new agent keeps working
    llm.add_reply("Sure.")
    await bounded(session.run(user_input="thanks"))
    assert session.history.messages()[-1].text_content == "Sure."
    await bounded(session.aclose())


async def test_update_agent_inside_a_tool_behaves_the_same() -> None:
    log: list[str] = []
    sales = Tracked("sales", log)
    session = await started(Front(log, sales), FakeLLM([call("transfer_no_wait")]))
    result = await bounded(session.run(user_input="transfer"))
    assert session.current_agent is sales
    assert log == ["enter:front", "exit:front", "enter:sales"]
    result.expect.next_event().is_function_call(name="transfer_no_wait")
    result.expect.next_event().is_function_call_output(output="transferred")
    result.expect.next_event().is_agent_handoff()
    result.expect.no_more_events()
    await bounded(session.aclose())


async def test_a_returned_agent_wins_over_a_handoff_call() -> None:
    log: list[str] = []
    sales, support = Tracked("sales", log), Tracked("support", log)
    session = await started(Front(log, sales, other=support), FakeLLM([call("transfer_and_return")]))
    await bounded(session.run(user_input="transfer"))
    assert session.current_agent is support
    assert log == ["enter:front", "exit:front", "enter:support"]
    assert [i.new_agent_id for i in session.history.items if isinstance(i, AgentHandoff)] == [support.id]
    await bounded(session.aclose())


async def test_the_last_handoff_call_of_a_tool_wins() -> None:
    log: list[str] = []
    sales, support = Tracked("sales", log), Tracked("support", log)
    session = await started(Front(log, sales, other=support), FakeLLM([call("transfer_twice")]))
    await bounded(session.run(user_input="transfer"))
    assert session.current_agent is sales
    assert log == ["enter:front", "exit:front", "enter:sales"]
    await bounded(session.aclose())


async def test_a_handoff_call_holds_when_the_tool_then_fails() -> None:
    log: list[str] = []
    sales = Tracked("sales", log)
    session = await started(Front(log, sales), FakeLLM([call("transfer_then_fail")]))
    result = await bounded(session.run(user_input="transfer"))
    result.expect.next_event().is_function_call(name="transfer_then_fail")
    result.expect.next_event().is_function_call_output(output="the CRM is down", is_error=True)
    result.expect.next_event().is_agent_handoff()
    assert session.current_agent is sales
    await bounded(session.aclose())


async def test_parallel_tools_picking_different_agents_do_not_hand_off(caplog: pytest.LogCaptureFixture) -> None:
    log: list[str] = []
    sales, support = Tracked("sales", log), Tracked("support", log)
    front = Front(log, sales, other=support)
    session = await started(front, FakeLLM([call("transfer", "transfer_other")]))
    with caplog.at_level(logging.ERROR):
        result = await bounded(session.run(user_input="transfer"))
    assert session.current_agent is front
    assert log == ["enter:front"]
    assert "several tools picked different agents" in caplog.text
    # the outputs are recorded; as with two returned agents, the step ends there
    result.expect.next_event().is_function_call(name="transfer")
    result.expect.next_event().is_function_call_output(output="transferred")
    result.expect.next_event().is_function_call(name="transfer_other")
    result.expect.next_event().is_function_call_output(output="ok")
    result.expect.no_more_events()
    await bounded(session.aclose())


async def test_parallel_tools_picking_the_same_agent_hand_off() -> None:
    log: list[str] = []
    sales = Tracked("sales", log)
    session = await started(Front(log, sales), FakeLLM([call("transfer", "transfer_no_wait")]))
    await bounded(session.run(user_input="transfer"))
    assert session.current_agent is sales
    assert log == ["enter:front", "exit:front", "enter:sales"]
    await bounded(session.aclose())


async def test_an_interrupted_reply_drops_the_handoff_of_its_tool() -> None:
    log: list[str] = []
    sales = Tracked("sales", log)
    called = asyncio.Event()

    class Slow(Tracked):
        @function_tool
        async def transfer(self, ctx: RunContext) -> str:
            """Transfer, then look something up for a long time."""
            await ctx.session.handoff(sales)
            called.set()
            await asyncio.sleep(TIMEOUT * 2)
            return "transferred"

    front = Slow("front", log)
    session = await started(front, FakeLLM([call("transfer")]))
    run = asyncio.ensure_future(session.run(user_input="transfer"))
    await bounded(called.wait())
    await bounded(session.interrupt())
    await bounded(run)
    assert session.current_agent is front
    assert log == ["enter:front"]
    await bounded(session.aclose())


async def test_a_task_spawned_by_a_tool_can_hand_off_later() -> None:
    log: list[str] = []
    sales = Tracked("sales", log)
    spawned: list[asyncio.Task[None]] = []

    class Spawner(Tracked):
        @function_tool
        async def transfer(self, ctx: RunContext) -> str:
            """Hand off from a task that outlives the tool."""
            spawned.append(asyncio.create_task(ctx.session.handoff(sales)))
            return "transferring"

    session = await started(Spawner("front", log), FakeLLM([call("transfer"), "One moment."]))
    await bounded(session.run(user_input="transfer"))
    await bounded(spawned[0])
    # called once the tool was done: the old agent answered first, then the switch happened
    assert session.current_agent is sales
    assert log == ["enter:front", "exit:front", "enter:sales"]
    assert "One moment." in [m.text_content for m in session.history.messages()]
    await bounded(session.aclose())


async def test_handoff_from_outside_waits_until_the_new_agent_is_active() -> None:
    log: list[str] = []
    first, second = Tracked("first", log), Tracked("second", log, greet=True)
    session = await started(first, FakeLLM(["Hello from second."]))
    await bounded(session.handoff(second))
    assert session.current_agent is second
    assert log == ["enter:first", "exit:first", "enter:second"]
    handoff = next(i for i in session.history.items if isinstance(i, AgentHandoff))
    assert handoff.old_agent_id == first.id and handoff.new_agent_id == second.id
    await bounded(session.aclose())


async def test_awaited_handoff_from_on_enter() -> None:
    log: list[str] = []
    second = Tracked("second", log, greet=True)
    routed = asyncio.Event()
    session: AgentSession[Any] = AgentSession(llm=FakeLLM(["Hello from second."]))

    class Router(Tracked):
        async def on_enter(self) -> None:
            await super().on_enter()
            await self.session.handoff(second)
            # the handoff is complete when it returns (and this agent is no longer in the session)
            self.log.append(f"routed, now {session.current_agent.name}")  # type: ignore[attr-defined]
            routed.set()

    await bounded(session.start(Router("router", log)))
    await bounded(routed.wait())
    assert session.current_agent is second
    assert log == ["enter:router", "exit:router", "enter:second", "routed, now second"]
    await bounded(session.aclose())


async def test_handoff_needs_an_agent() -> None:
    session = await started(Agent(instructions="x"), FakeLLM([]))
    with pytest.raises(TypeError, match="needs an Agent"):
        await session.handoff("sales")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="needs an Agent"):
        session.update_agent(None)  # type: ignore[arg-type]
    await bounded(session.aclose())


async def test_handoff_from_on_exit_does_not_wait_for_itself() -> None:
    log: list[str] = []
    second = Tracked("second", log)
    entered_third = asyncio.Event()

    class Redirecting(Tracked):
        async def on_exit(self) -> None:
            await super().on_exit()
            # a handoff is under way and waits for this hook: this one is queued after it
            await self.session.handoff(third)
            self.log.append("on_exit returned")

    class Third(Tracked):
        async def on_enter(self) -> None:
            await super().on_enter()
            entered_third.set()

    third = Third("third", log)
    session = await started(Redirecting("first", log), FakeLLM([]))
    await bounded(session.handoff(second))
    await bounded(entered_third.wait())
    assert session.current_agent is third
    assert log == ["enter:first", "exit:first", "on_exit returned", "enter:second", "exit:second", "enter:third"]
    await bounded(session.aclose())
