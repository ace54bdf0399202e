"""An end-to-end text turn: AgentSession + Agent with a tool, on openai.LLM pointed at the fake."""

from __future__ import annotations

import json

from fake_servers.openai import FakeOpenAI

from livekit.agents import Agent, AgentSession, RunContext, function_tool
from livekit.plugins import openai


class WeatherAgent(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="You are a helpful weather assistant.")
        self.looked_up: list[str] = []

    @function_tool
    async def get_weather(self, context: RunContext, city: str) -> str:
        """Get the current weather for a city.

        Args:
            city: The city name.
        """
        self.looked_up.append(city)
        return f"It is sunny and 22 degrees in {city}."


async def test_turn_with_a_tool_call(srv: FakeOpenAI) -> None:
    srv.script_chat(tool_calls=[("get_weather", {"city": "Paris"})])
    srv.script_chat("It's sunny and 22 degrees in Paris.")
    llm = openai.LLM(model="gpt-4o-mini", base_url=srv.base_url, api_key=srv.api_key)
    agent = WeatherAgent()
    async with AgentSession(llm=llm) as session:
        await session.start(agent)
        result = await session.run(user_input="What's the weather in Paris?")

        result.expect.next_event().is_function_call(name="get_weather", arguments={"city": "Paris"})
        result.expect.next_event().is_function_call_output(
            output="It is sunny and 22 degrees in Paris."
        )
        msg = result.expect.next_event().is_message(role="assistant")
        assert msg.event().item.text_content == "It's sunny and 22 degrees in Paris."
        result.expect.no_more_events()

    assert agent.looked_up == ["Paris"]
    first, second = srv.chat_requests
    assert first.json["messages"][0] == {
        "role": "system",
        "content": "You are a helpful weather assistant.",
    }
    assert first.json["messages"][-1] == {"role": "user", "content": "What's the weather in Paris?"}
    tool = first.json["tools"][0]["function"]
    assert tool["name"] == "get_weather"
    assert set(tool["parameters"]["properties"]) == {"city"}  # RunContext is hidden from the LLM
    # the second request carries the call and its output, in order
    call_msg, output_msg = second.json["messages"][-2:]
    call = call_msg["tool_calls"][0]
    assert json.loads(call["function"]["arguments"]) == {"city": "Paris"}
    assert output_msg == {
        "role": "tool",
        "tool_call_id": call["id"],
        "content": "It is sunny and 22 degrees in Paris.",
    }
    srv.assert_no_violations()
    await llm.aclose()
