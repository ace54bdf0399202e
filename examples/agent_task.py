"""A task that returns a result: the receptionist's tool awaits a phone number.

``GetPhoneNumber`` is an ``AgentTask[str]``: while it runs it is the active agent and talks with
the caller (over as many turns as it takes) until its tool calls ``self.complete(number)``; then
the receptionist resumes with the number.

    python examples/agent_task.py console --text
"""

from __future__ import annotations

import os
import re

from livekit.agents import (
    Agent,
    AgentSession,
    AgentTask,
    JobContext,
    RunContext,
    ToolError,
    cli,
    function_tool,
)
from livekit.agents.llm import ChatContext, FunctionCallOutput
from livekit.agents.testing import FakeLLM, FakeResponse, FakeToolCall

TASK_INSTRUCTIONS = "Ask for the caller's phone number, with area code, and record it."


class GetPhoneNumber(AgentTask[str]):
    def __init__(self) -> None:
        super().__init__(instructions=TASK_INSTRUCTIONS)

    async def on_enter(self) -> None:
        self.session.generate_reply()

    @function_tool
    async def record_phone_number(self, number: str) -> None:
        """Record the caller's phone number.

        Args:
            number: the digits of the number, area code first
        """
        digits = re.sub(r"\D", "", number)
        if len(digits) != 10:
            raise ToolError(f"{number!r} is not a ten-digit number; ask again")
        self.complete(f"({digits[:3]}) {digits[3:6]}-{digits[6:]}")

    @function_tool
    async def caller_declines(self) -> None:
        """The caller does not want to give a number."""
        self.complete(ToolError("the caller declined to give a phone number"))


class Receptionist(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="You are a receptionist. Offer callbacks when nobody is free.")

    @function_tool
    async def schedule_callback(self, context: RunContext) -> str:
        """Book a callback for the caller."""
        number = await GetPhoneNumber()
        return f"Done: we will call you back at {number}."


def _respond(ctx: ChatContext) -> FakeResponse | str:
    """A scripted LLM for the demo and its tests (set AGENT_LLM for a real one)."""
    messages = ctx.messages()
    user = next((m.text_content or "" for m in reversed(messages) if m.role == "user"), "")
    last = ctx.items[-1] if ctx.items else None
    if messages and messages[0].text_content == TASK_INSTRUCTIONS:
        if isinstance(last, FunctionCallOutput) and last.is_error:
            return "Sorry, I need all ten digits, area code first. Could you repeat the number?"
        digits = re.sub(r"\D", "", user)
        if digits:
            return FakeResponse(tool_calls=[FakeToolCall("record_phone_number", {"number": digits})])
        if "no" in user.lower().split():
            return FakeResponse(tool_calls=[FakeToolCall("caller_declines", {})])
        return "Sure. What number should we call you back on?"
    if isinstance(last, FunctionCallOutput):
        return last.output
    if "call" in user.lower() and "back" in user.lower():
        return FakeResponse(tool_calls=[FakeToolCall("schedule_callback", {})])
    return "Hello! Nobody is free right now; shall we call you back?"


def demo_llm() -> FakeLLM:
    return FakeLLM(default=_respond)


async def entrypoint(ctx: JobContext) -> None:
    await ctx.connect()
    session = AgentSession(llm=os.environ.get("AGENT_LLM") or demo_llm())
    await session.start(agent=Receptionist(), room=ctx.room)


if __name__ == "__main__":
    cli.run_app(entrypoint)
