"""Multi-agent handoff: a receptionist routes the caller to billing or support.

A tool returning an ``Agent`` (or ``(agent, message)``) hands off; the new agent's ``on_enter``
greets; the conversation carries over.

    python examples/handoff.py console --text
"""

from __future__ import annotations

import os

from livekit.agents import Agent, AgentSession, JobContext, cli, function_tool
from livekit.agents.testing import FakeLLM, FakeResponse, FakeToolCall


class Billing(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="You handle billing questions: invoices, refunds, payment methods.")

    async def on_enter(self) -> None:
        self.session.generate_reply(instructions="Introduce yourself as the billing desk and ask how you can help.")


class Support(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="You are technical support. Troubleshoot step by step.")

    async def on_enter(self) -> None:
        self.session.generate_reply(instructions="Introduce yourself as technical support.")


class Receptionist(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="Greet the caller and route them to billing or support.")

    async def on_enter(self) -> None:
        await self.session.say("Hello, thanks for calling. Is this about billing or a technical problem?")

    @function_tool
    async def transfer_to_billing(self) -> tuple[Agent, str]:
        """Transfer the caller to the billing desk."""
        return Billing(), "Transferring you to billing."

    @function_tool
    async def transfer_to_support(self) -> Agent:
        """Transfer the caller to technical support."""
        return Support()


def demo_llm() -> FakeLLM:
    return FakeLLM(rules={
        "bill|invoice|refund": [FakeResponse(tool_calls=[FakeToolCall("transfer_to_billing", {})])],
        "broken|crash|support|error": [FakeResponse(tool_calls=[FakeToolCall("transfer_to_support", {})])],
    }, default="Hi, this is billing. How can I help you with your invoice?")


async def entrypoint(ctx: JobContext) -> None:
    await ctx.connect()
    session = AgentSession(llm=os.environ.get("AGENT_LLM") or demo_llm())
    await session.start(agent=Receptionist(), room=ctx.room)


if __name__ == "__main__":
    cli.run_app(entrypoint)
