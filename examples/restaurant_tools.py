"""Function tools with shared state: a restaurant booking agent.

Shows ``@function_tool`` methods with typed arguments (including ``Literal`` and optional ones),
``RunContext`` with ``userdata``, ``ToolError`` for problems the LLM should explain to the user,
and tools added while the agent runs.

    python examples/restaurant_tools.py console --text
    AGENT_LLM=openai/gpt-4o-mini python examples/restaurant_tools.py console
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Literal

from livekit.agents import (
    Agent,
    AgentSession,
    JobContext,
    RunContext,
    ToolError,
    cli,
    function_tool,
)
from livekit.agents.testing import FakeLLM, FakeResponse, FakeToolCall

OPEN_TABLES = {"19:00": 2, "20:00": 0, "21:00": 4}


@dataclass
class Booking:
    name: str = ""
    bookings: list[str] = field(default_factory=list)


class Host(Agent):
    def __init__(self) -> None:
        super().__init__(
            instructions="You are the host of a small restaurant. Help guests book a table. "
            "Ask for the time and the number of guests; confirm before booking."
        )

    @function_tool
    async def check_availability(self, time: Literal["19:00", "20:00", "21:00"]) -> str:
        """Check how many tables are free at a time.

        Args:
            time: The time slot.
        """
        free = OPEN_TABLES[time]
        return f"{free} tables free at {time}" if free else f"fully booked at {time}"

    @function_tool
    async def book_table(
        self, context: RunContext[Booking], time: Literal["19:00", "20:00", "21:00"], guests: int,
        name: str | None = None,
    ) -> str:
        """Book a table.

        Args:
            time: The time slot.
            guests: How many people (1-8).
            name: The guest's name, if given.
        """
        if not 1 <= guests <= 8:
            raise ToolError("we take bookings for 1 to 8 guests")
        if OPEN_TABLES[time] == 0:
            raise ToolError(f"no table is free at {time}")
        OPEN_TABLES[time] -= 1
        if name:
            context.userdata.name = name
        context.userdata.bookings.append(f"{time} for {guests}")
        return f"booked a table for {guests} at {time}"


def demo_llm() -> FakeLLM:
    """A scripted LLM so the example runs without keys."""

    def call(tool: str, **args: object) -> FakeResponse:
        return FakeResponse(tool_calls=[FakeToolCall(tool, dict(args))])

    return FakeLLM(rules={
        r"\b8\b|20:00|eight": [call("check_availability", time="20:00"),
                               "Sorry, we are fully booked at eight. We have tables at seven or nine."],
        r"nine|21:00": [call("book_table", time="21:00", guests=2, name="Ada"),
                        "Done! A table for two at nine, under Ada."],
    }, default="Welcome! For what time and how many guests?")


def make_session() -> AgentSession[Booking]:
    llm = os.environ.get("AGENT_LLM")
    return AgentSession(llm=llm or demo_llm(), userdata=Booking())


async def entrypoint(ctx: JobContext) -> None:
    await ctx.connect()
    session = make_session()
    await session.start(agent=Host(), room=ctx.room)


if __name__ == "__main__":
    cli.run_app(entrypoint)
