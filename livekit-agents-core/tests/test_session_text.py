"""The session in text mode: replies, say, tools, handoffs, hooks and events (seed API)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

import pytest

from livekit.agents import (
    Agent,
    AgentSession,
    ChatContext,
    ChatMessage,
    RunContext,
    StopResponse,
    function_tool,
    mock_tools,
)
from livekit.agents.testing import FakeLLM, FakeResponse, FakeToolCall


def call(tool: str, /, **args: Any) -> FakeResponse:
    return FakeResponse(tool_calls=[FakeToolCall(tool, args)])


class Weather(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="You tell the weather.")

    @function_tool
    async def get_weather(self, location: str) -> str:
        """Get the weather.

        Args:
            location: The city.
        """
        return f"sunny in {location}"


async def started(agent: Agent, **kwargs: Any) -> AgentSession[Any]:
    session: AgentSession[Any] = AgentSession(**kwargs)
    await session.start(agent)
    return session


async def test_reply_and_history() -> None:
    session = await started(Weather(), llm=FakeLLM(["Hello!"]))
    result = await session.run(user_input="hi")
    result.expect.next_event().is_message(role="assistant")
    result.expect.no_more_events()
    assert [(m.role, m.text_content) for m in session.history.messages()] == [("user", "hi"), ("assistant", "Hello!")]
    # the agent's own context starts with its instructions
    first = session.current_agent.chat_ctx.items[0]
    assert isinstance(first, ChatMessage) and first.role == "system" and first.text_content == "You tell the weather."
    await session.aclose()


async def test_tool_round_trip_and_events() -> None:
    events: list[str] = []
    llm = FakeLLM(rules={"weather": [call("get_weather", location="NYC"), "It's sunny in NYC."]})
    session = await started(Weather(), llm=llm)
    session.on("function_tools_executed", lambda ev: events.append(f"tools:{ev.function_calls[0].name}"))
    session.on("conversation_item_added", lambda ev: events.append(f"item:{ev.item.role}"))
    result = await session.run(user_input="What's the weather in NYC?")
    result.expect.next_event().is_function_call(name="get_weather", arguments={"location": "NYC"})
    result.expect.next_event().is_function_call_output(output="sunny in NYC")
    result.expect.next_event().is_message(role="assistant")
    result.expect.no_more_events()
    assert events == ["item:user", "tools:get_weather", "item:assistant"]
    # the tool result was sent back to the LLM
    second = llm.requests[1]["chat_ctx"]
    assert any(getattr(i, "output", None) == "sunny in NYC" for i in second.items)
    await session.aclose()


async def test_parallel_tool_calls_run_concurrently() -> None:
    running = 0
    peak = 0

    @function_tool
    async def slow(n: int) -> int:
        """Slow."""
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.05)
        running -= 1
        return n * 2

    llm = FakeLLM([FakeResponse(tool_calls=[FakeToolCall("slow", {"n": 1}), FakeToolCall("slow", {"n": 2})]), "done"])
    session = await started(Agent(instructions="x", tools=[slow]), llm=llm)
    result = await session.run(user_input="go")
    outputs = [e.item.output for e in result.events if e.type == "function_call_output"]
    assert outputs == ["2", "4"]
    assert peak == 2
    await session.aclose()


async def test_max_tool_steps_forces_a_spoken_answer() -> None:
    llm = FakeLLM(rules={"loop": [call("get_weather", location=str(i)) for i in range(10)]})
    session = await started(Weather(), llm=llm, max_tool_steps=2)
    result = await session.run(user_input="loop forever")
    calls = [e for e in result.events if e.type == "function_call"]
    assert len(calls) == 2
    assert llm.requests[-1]["tool_choice"] == "none"
    assert len(llm.requests) == 3
    await session.aclose()


async def test_run_context_userdata_and_session() -> None:
    @dataclass
    class Data:
        name: str = ""

    @function_tool
    async def remember(ctx: RunContext[Data], name: str) -> str:
        """Remember the user's name."""
        ctx.userdata.name = name
        assert ctx.session.current_agent is not None
        return "ok"

    data = Data()
    llm = FakeLLM([call("remember", name="Ada"), "Nice to meet you, Ada."])
    session = await started(Agent(instructions="x", tools=[remember]), llm=llm, userdata=data)
    await session.run(user_input="I'm Ada")
    assert data.name == "Ada"
    await session.aclose()


async def test_userdata_missing_is_a_clear_error() -> None:
    session = AgentSession(llm=FakeLLM())
    with pytest.raises(ValueError, match="no userdata"):
        _ = session.userdata


async def test_tools_appended_while_running_are_used() -> None:
    agent = Agent(instructions="x")
    llm = FakeLLM(["first", call("late_tool"), "done"])
    session = await started(agent, llm=llm)
    await session.run(user_input="one")
    assert llm.requests[0]["tools"] == []

    @function_tool
    async def late_tool() -> str:
        """Added later."""
        return "late"

    agent.tools.append(late_tool)
    result = await session.run(user_input="two")
    result.expect.next_event().is_function_call(name="late_tool")
    assert [t.name for t in llm.requests[1]["tools"]] == ["late_tool"]
    await session.aclose()


class Receptionist(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="Route the caller.")
        self.exited = False

    async def on_exit(self) -> None:
        self.exited = True

    @function_tool
    async def to_billing(self) -> tuple[Agent, str]:
        """Transfer to billing."""
        return Billing(), "Transferring you to billing."


class Billing(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="You handle billing.")

    async def on_enter(self) -> None:
        self.session.generate_reply(instructions="Greet the caller as the billing desk.")


async def test_handoff_from_a_tool() -> None:
    llm = FakeLLM(["Billing here, how can I help?"], rules={"bill": [call("to_billing")]})
    first = Receptionist()
    session = await started(first, llm=llm)
    await session.run(user_input="hello")  # consumes nothing from rules ("hello" has no match)
    result = await session.run(user_input="I have a question about my bill")
    result.expect.next_event().is_function_call(name="to_billing")
    result.expect.next_event().is_function_call_output(output="Transferring you to billing.")
    result.expect.next_event().is_agent_handoff(new_agent_type=Billing)
    result.expect.next_event().is_message(role="assistant")
    assert isinstance(session.current_agent, Billing)
    assert first.exited
    # history carries over: the new agent sees the earlier conversation
    texts = [m.text_content for m in session.current_agent.chat_ctx.messages()]
    assert "I have a question about my bill" in texts
    assert texts[0] == "You handle billing."
    handoffs = [i for i in session.history.items if i.type == "agent_handoff"]
    assert handoffs[0].old_agent_id == "receptionist" and handoffs[0].new_agent_id == "billing"
    await session.aclose()


async def test_session_handoff_api() -> None:
    session = await started(Agent(instructions="a"), llm=FakeLLM(["hi from billing"]))
    await session.handoff(Billing())
    assert isinstance(session.current_agent, Billing)
    await session.aclose()


async def test_on_user_turn_completed_can_edit_and_stop() -> None:
    class Rag(Agent):
        async def on_user_turn_completed(self, turn_ctx: ChatContext, new_message: ChatMessage) -> None:
            if "secret" in (new_message.text_content or ""):
                raise StopResponse()
            turn_ctx.add_message(role="system", content="Context: the shop opens at 9.")

    llm = FakeLLM(["Opens at 9."])
    session = await started(Rag(instructions="x"), llm=llm)
    result = await session.run(user_input="the secret word")
    result.expect.no_more_events()
    assert llm.requests == []
    assert session.history.messages()[-1].text_content == "the secret word"  # still recorded

    await session.run(user_input="when do you open?")
    seen = [m.text_content for m in llm.requests[0]["chat_ctx"].messages()]
    assert "Context: the shop opens at 9." in seen
    await session.aclose()


async def test_say_and_generate_reply_with_instructions() -> None:
    llm = FakeLLM(["Welcome back!"])
    session = await started(Agent(instructions="x"), llm=llm)
    handle = session.say("Hi there.")
    await handle
    assert handle.done()
    reply = session.generate_reply(instructions="Greet the user warmly.")
    await reply
    sent = [m.text_content for m in llm.requests[0]["chat_ctx"].messages()]
    assert sent[-1] == "Greet the user warmly."
    assert [m.text_content for m in session.history.messages()] == ["Hi there.", "Welcome back!"]
    await session.aclose()


async def test_event_handlers_sync_async_and_failing(caplog: pytest.LogCaptureFixture) -> None:
    got: list[str] = []
    session = await started(Agent(instructions="x"), llm=FakeLLM(["ok"]))

    @session.on("conversation_item_added")
    def sync_handler(ev: Any) -> None:
        got.append("sync")

    @session.on("conversation_item_added")
    async def async_handler(ev: Any) -> None:
        got.append("async")

    @session.on("conversation_item_added")
    def broken(ev: Any) -> None:
        raise RuntimeError("handler bug")

    with caplog.at_level(logging.ERROR):
        result = await session.run(user_input="hi")
    await asyncio.sleep(0)
    result.expect.next_event().is_message(role="assistant")
    assert got.count("sync") == 2 and got.count("async") == 2
    assert "handler bug" in caplog.text
    await session.aclose()


async def test_close_event_and_state() -> None:
    closed: list[Any] = []
    session = await started(Agent(instructions="x"), llm=FakeLLM())
    session.on("close", closed.append)
    assert session.agent_state == "listening"
    await session.aclose()
    assert closed and closed[0].reason.value == "user_initiated"


async def test_run_input_validation_and_nesting() -> None:
    session = await started(Agent(instructions="x"), llm=FakeLLM([FakeResponse(text="slow", ttft=0.2)]))
    with pytest.raises(ValueError, match="non-empty"):
        await session.run(user_input="  ")
    first = asyncio.create_task(session.run(user_input="one"))
    await asyncio.sleep(0.01)
    with pytest.raises(RuntimeError, match="cannot be nested"):
        await session.run(user_input="two")
    await first
    await session.aclose()


async def test_start_requires_an_agent_and_session_not_started() -> None:
    session = AgentSession(llm=FakeLLM())
    with pytest.raises(RuntimeError, match="session.start"):
        session.say("x")
    with pytest.raises(TypeError, match="needs an Agent"):
        await session.start("not an agent")  # type: ignore[arg-type]


async def test_failed_assertion_explains_itself() -> None:
    session = await started(Weather(), llm=FakeLLM(["No tools today."]))
    result = await session.run(user_input="weather in Rome?")
    with pytest.raises(AssertionError) as exc:
        result.expect.next_event().is_function_call(name="get_weather")
    text = str(exc.value)
    assert "expected a function call, got message assistant: 'No tools today.'" in text
    assert "user: weather in Rome?" in text and "assistant: No tools today." in text
    await session.aclose()


async def test_llm_failure_surfaces_in_run() -> None:
    from livekit.agents import APIConnectionError

    llm = FakeLLM([FakeResponse(error=APIConnectionError("down", retryable=False))])
    session = await started(Agent(instructions="x"), llm=llm)
    errors: list[Any] = []
    session.on("error", errors.append)
    with pytest.raises(APIConnectionError):
        await session.run(user_input="hi")
    assert errors and errors[0].error.recoverable is False
    await session.aclose()


async def test_mock_tools_replace_implementation_only() -> None:
    llm = FakeLLM([call("get_weather", location="Oslo"), "ok"])
    session = await started(Weather(), llm=llm)
    with mock_tools(Weather, {"get_weather": lambda location: f"mocked {location}"}):
        result = await session.run(user_input="weather?")
    result.expect.next_event().is_function_call()
    result.expect.next_event().is_function_call_output(output="mocked Oslo")
    assert llm.requests[0]["tools"][0].schema()["parameters"]["required"] == ["location"]
    await session.aclose()
