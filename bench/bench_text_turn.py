"""Cost of a text turn: ``session.run(user_input=...)`` with an instant fake LLM.

Two shapes: a plain reply, and a reply with one tool round trip (LLM -> tool -> LLM).

    python bench/bench_text_turn.py [--turns 200]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

from _common import report, summarize

from livekit.agents import Agent, AgentSession, function_tool
from livekit.agents.testing import FakeLLM, FakeResponse, FakeToolCall


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


async def _measure(llm: FakeLLM, text: str, turns: int) -> dict[str, Any]:
    session = AgentSession(llm=llm)
    await session.start(Weather())
    for _ in range(5):  # warm-up: imports, schema building
        await session.run(user_input=text)
    samples = []
    for _ in range(turns):
        t0 = time.perf_counter()
        await session.run(user_input=text)
        samples.append(time.perf_counter() - t0)
        session.current_agent.chat_ctx.truncate(max_items=10)
    await session.aclose()
    return summarize(samples)


async def run(turns: int) -> dict[str, Any]:
    plain = FakeLLM(rules={"hello": "Hello! How can I help you today?"})
    tool = FakeLLM(rules={"weather": [FakeResponse(tool_calls=[FakeToolCall("get_weather", {"location": "Paris"})]),
                                      "It is sunny in Paris."]})
    return {
        "plain reply": await _measure(plain, "hello there", turns),
        "one tool round trip": await _measure(tool, "weather in Paris?", turns),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--turns", type=int, default=200)
    args = parser.parse_args()
    report("text turn (session.run, instant fake LLM)", asyncio.run(run(args.turns)))


if __name__ == "__main__":
    main()
