"""``AgentTask``: a tool awaits a sub-agent that talks with the user and returns a result."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Any, TypeVar

import pytest

from livekit.agents import (
    Agent,
    AgentSession,
    AgentTask,
    RunContext,
    ToolError,
    function_tool,
)
from livekit.agents.llm import AgentHandoff, FunctionCall, FunctionCallOutput
from livekit.agents.testing import FakeLLM, FakeResponse, FakeToolCall

T = TypeVar("T")
TIMEOUT = 10.0


async def bounded(aw: Awaitable[T]) -> T:
    return await asyncio.wait_for(aw, TIMEOUT)


def call(tool: str, **args: Any) -> FakeResponse:
    return FakeResponse(tool_calls=[FakeToolCall(tool, args)])


class GetEmail(AgentTask[str]):
    def __init__(self, log: list[str], **kwargs: Any) -> None:
        super().__init__(instructions="Ask for the caller's email address.", **kwargs)
        self.log = log

    async def on_enter(self) -> None:
        self.log.append("enter:task")
        self.session.generate_reply()

    async def on_exit(self) -> None:
        self.log.append("exit:task")

    @function_tool
    async def record_email(self, email: str) -> None:
        """Record the caller's email address."""
        if "@" not in email:
            raise ToolError("that is not an email address")
        self.complete(email)

    @function_tool
    async def refuse(self) -> None:
        """The caller will not give an email address."""
        self.complete(ToolError("the caller declined to give an email"))


class Front(Agent):
    def __init__(self, log: list[str], **task_kwargs: Any) -> None:
        super().__init__(instructions="You are the front desk.")
        self.log = log
        self.task_kwargs = task_kwargs
        self.agent_during_tool: Agent | None = None
        self.task: GetEmail | None = None

    async def on_enter(self) -> None:
        self.log.append("enter:front")

    @function_tool
    async def collect_email(self, ctx: RunContext) -> str:
        """Collect the caller's email address."""
        self.task = GetEmail(self.log, **self.task_kwargs)
        email = await self.task
        self.agent_during_tool = ctx.session.current_agent
        self.log.append(f"got:{email}")
        return f"the email is {email}"


async def started(agent: Agent, llm: FakeLLM) -> AgentSession[Any]:
    session: AgentSession[Any] = AgentSession(llm=llm)
    await bounded(session.start(agent))
    return session


async def test_a_tool_awaits_a_task_across_user_turns_and_gets_its_result() -> None:
    log: list[str] = []
    front = Front(log)
    llm = FakeLLM([
        FakeResponse(text="Let me take your email.", tool_calls=[FakeToolCall("collect_email", {})]),
        "What is your email address?",  # the task's on_enter reply
    ])
    session = await started(front, llm)

    first = await bounded(session.run(user_input="I want a receipt"))
    # the run ends once the task waits for the user: the tool is still awaiting the task
    assert isinstance(session.current_agent, GetEmail)
    assert log == ["enter:front", "enter:task"]
    first.expect.next_event().is_message(role="assistant")
    first.expect.next_event().is_function_call(name="collect_email")  # reported in its own turn
    first.expect.next_event().is_agent_handoff(new_agent_type=GetEmail)
    first.expect.next_event().is_message(role="assistant")
    first.expect.no_more_events()
    # the task started after the caller finished its sentence, with the caller's conversation
    task_request = llm.requests[1]["chat_ctx"]
    texts = [m.text_content for m in task_request.messages()]
    assert texts[0] == "Ask for the caller's email address."
    assert "You are the front desk." not in texts and "I want a receipt" in texts

    llm.add_reply(call("record_email", email="ada@example.com"))
    llm.add_reply("Thanks, your receipt is on its way to ada@example.com.")  # the caller's reply
    second = await bounded(session.run(user_input="ada@example.com"))

    assert session.current_agent is front
    assert front.agent_during_tool is front
    assert log == ["enter:front", "enter:task", "exit:task", "got:ada@example.com"]
    second.expect.next_event().is_function_call(name="record_email")
    second.expect.next_event().is_function_call_output()
    second.expect.next_event().is_agent_handoff(new_agent_type=Front)
    second.expect.next_event().is_function_call_output(output="the email is ada@example.com")
    second.expect.next_event().is_message(role="assistant")
    second.expect.no_more_events()

    # the caller's context got the task's conversation, without the task's tool calls
    caller_ctx = front.chat_ctx
    caller_texts = [m.text_content for m in caller_ctx.messages()]
    assert "What is your email address?" in caller_texts and "ada@example.com" in caller_texts
    assert "Ask for the caller's email address." not in caller_texts
    assert not any(isinstance(i, FunctionCall) and i.name == "record_email" for i in caller_ctx.items)
    # the session history has everything, with a handoff each way
    handoffs = [(i.old_agent_id, i.new_agent_id) for i in session.history.items if isinstance(i, AgentHandoff)]
    assert handoffs == [(front.id, "get_email"), ("get_email", front.id)]
    await bounded(session.aclose())


async def test_preserve_function_call_history_keeps_the_tasks_tool_calls() -> None:
    log: list[str] = []
    front = Front(log, preserve_function_call_history=True)
    llm = FakeLLM([call("collect_email"), "Your email?"])
    session = await started(front, llm)
    await bounded(session.run(user_input="receipt please"))
    llm.add_reply(call("record_email", email="bo@example.com"))
    llm.add_reply("Done.")
    await bounded(session.run(user_input="bo@example.com"))
    assert any(isinstance(i, FunctionCall) and i.name == "record_email" for i in front.chat_ctx.items)
    await bounded(session.aclose())


async def test_a_bad_answer_keeps_the_task_running() -> None:
    log: list[str] = []
    front = Front(log)
    llm = FakeLLM([call("collect_email"), "Your email?"])
    session = await started(front, llm)
    await bounded(session.run(user_input="receipt"))

    llm.add_reply(call("record_email", email="not an email"))
    llm.add_reply("Sorry, could you spell it?")
    result = await bounded(session.run(user_input="not an email"))
    result.expect.next_event().is_function_call(name="record_email")
    result.expect.next_event().is_function_call_output(is_error=True)
    result.expect.next_event().is_message(role="assistant")
    assert isinstance(session.current_agent, GetEmail) and not front.task.done()  # type: ignore[union-attr]
    await bounded(session.aclose())


async def test_completing_with_an_exception_raises_it_in_the_caller() -> None:
    log: list[str] = []
    front = Front(log)
    llm = FakeLLM([call("collect_email"), "Your email?"])
    session = await started(front, llm)
    await bounded(session.run(user_input="receipt"))
    llm.add_reply(call("refuse"))
    llm.add_reply("No problem, no receipt then.")
    result = await bounded(session.run(user_input="I'd rather not say"))
    result.expect.contains_function_call_output(
        output="the caller declined to give an email", is_error=True
    )
    assert session.current_agent is front
    assert "got:" not in " ".join(log)
    await bounded(session.aclose())


async def test_a_task_from_on_enter() -> None:
    results: list[str] = []

    class Greeter(Agent):
        def __init__(self) -> None:
            super().__init__(instructions="Greet.")

        async def on_enter(self) -> None:
            results.append(await GetEmail([]))
            self.session.say("All set.")

    llm = FakeLLM(["Your email?"])
    session = await started(Greeter(), llm)
    await asyncio.sleep(0)
    llm.add_reply(call("record_email", email="cy@example.com"))
    result = await bounded(session.run(user_input="cy@example.com"))
    assert results == ["cy@example.com"]
    assert isinstance(session.current_agent, Greeter)
    result.expect.contains_message(role="assistant")
    assert session.history.messages()[-1].text_content == "All set."
    await bounded(session.aclose())


async def test_awaiting_outside_an_agent_or_twice_is_refused() -> None:
    task = GetEmail([])
    with pytest.raises(RuntimeError, match="inside a function tool, on_enter or on_exit"):
        await task

    class Twice(Agent):
        def __init__(self) -> None:
            super().__init__(instructions="x")
            self.error: BaseException | None = None

        @function_tool
        async def twice(self) -> str:
            """Await one task twice."""
            t = GetEmail([])
            t.complete("a@b.c")  # completed before being awaited: returns at once
            assert await t == "a@b.c"
            try:
                await t
            except RuntimeError as e:
                self.error = e
            return "ok"

    agent = Twice()
    session = await started(agent, FakeLLM([call("twice"), "ok"]))
    await bounded(session.run(user_input="go"))
    assert agent.error is not None and "runs once" in str(agent.error)
    done = GetEmail([])
    done.complete("x")
    with pytest.raises(RuntimeError, match="already completed"):
        done.complete("y")
    done.cancel()  # a no-op once completed
    assert done.done()
    await bounded(session.aclose())


async def test_no_handoff_while_a_task_runs(caplog: pytest.LogCaptureFixture) -> None:
    log: list[str] = []
    front = Front(log)
    session = await started(front, FakeLLM([call("collect_email"), "Your email?"]))
    await bounded(session.run(user_input="receipt"))
    with pytest.raises(RuntimeError, match="while the AgentTask"):
        session.update_agent(Agent(instructions="other"))
    assert isinstance(session.current_agent, GetEmail)
    await bounded(session.aclose())


async def test_closing_the_session_during_a_task_ends_the_waiting_tool(
    caplog: pytest.LogCaptureFixture,
) -> None:
    log: list[str] = []
    front = Front(log)
    session = await started(front, FakeLLM([call("collect_email"), "Your email?"]))
    await bounded(session.run(user_input="receipt"))
    task = front.task
    assert task is not None
    with caplog.at_level(logging.ERROR):
        await bounded(session.aclose())
    assert task.done()
    assert not session._task_callers and not session._suspended
    assert "got:" not in " ".join(log)


async def test_tool_output_reaches_the_callers_llm() -> None:
    log: list[str] = []
    front = Front(log)
    llm = FakeLLM([call("collect_email"), "Your email?"])
    session = await started(front, llm)
    await bounded(session.run(user_input="receipt"))
    llm.add_reply(call("record_email", email="di@example.com"))
    llm.add_reply("Sent.")
    await bounded(session.run(user_input="di@example.com"))
    last = llm.requests[-1]["chat_ctx"]
    assert last.messages()[0].text_content == "You are the front desk."
    outputs = [i.output for i in last.items if isinstance(i, FunctionCallOutput)]
    assert "the email is di@example.com" in outputs
    # and what the task said and heard, in order, without the task's own tool calls
    texts = [m.text_content for m in last.messages()]
    assert texts.index("Your email?") < texts.index("di@example.com")
    assert "record_email" not in [getattr(i, "name", None) for i in last.items]
    await bounded(session.aclose())


async def test_tasks_nest() -> None:
    log: list[str] = []

    class Profile(AgentTask[tuple[str, str]]):
        def __init__(self) -> None:
            super().__init__(instructions="Collect a profile.")

        async def on_enter(self) -> None:
            self.session.generate_reply()

        @function_tool
        async def record_name(self, name: str) -> str:
            """Record the name, then collect the email."""
            email = await GetEmail(log)
            self.complete((name, email))
            return "profile complete"

    class Desk(Agent):
        def __init__(self) -> None:
            super().__init__(instructions="Desk.")
            self.profile: tuple[str, str] | None = None

        @function_tool
        async def sign_up(self) -> str:
            """Sign the caller up."""
            self.profile = await Profile()
            return "signed up"

    desk = Desk()
    llm = FakeLLM([call("sign_up"), "Your name?"])
    session = await started(desk, llm)
    await bounded(session.run(user_input="sign me up"))
    assert isinstance(session.current_agent, Profile)

    llm.add_reply(call("record_name", name="Ada"))
    llm.add_reply("And your email?")  # GetEmail's on_enter
    await bounded(session.run(user_input="Ada"))
    assert isinstance(session.current_agent, GetEmail)

    llm.add_reply(call("record_email", email="ada@example.com"))
    llm.add_reply("Profile saved.")  # the profile task answers its tool's output
    llm.add_reply("Welcome, Ada.")  # the desk's reply once both tasks completed
    result = await bounded(session.run(user_input="ada@example.com"))
    assert session.current_agent is desk
    assert desk.profile == ("Ada", "ada@example.com")
    assert log == ["enter:task", "exit:task"]
    result.expect.contains_function_call_output(output="signed up")
    said = [m.text_content for m in session.history.messages() if m.role == "assistant"]
    assert said[-2:] == ["Profile saved.", "Welcome, Ada."]
    await bounded(session.aclose())
