"""``AgentTest``: the seed example passes under pytest, and a wrong assertion explains itself."""

from __future__ import annotations

import pytest

SEED = '''
from livekit.agents import Agent, function_tool
from livekit.agents.testing import AgentTest, FakeLLM, FakeResponse, FakeToolCall


class MyAgent(Agent):
    def __init__(self):
        super().__init__(instructions="You are a weather assistant.")

    @function_tool
    async def get_weather(self, location: str) -> str:
        """Get the weather for a location."""
        return f"sunny in {location}"


class Billing(Agent):
    def __init__(self):
        super().__init__(instructions="billing")


class Router(Agent):
    def __init__(self):
        super().__init__(instructions="route")

    @function_tool
    async def to_billing(self):
        """Transfer to billing."""
        return Billing()


class MyAgentTest(AgentTest):
    agent = MyAgent
    llm = FakeLLM(rules={
        "hello": "Hello! How can I help?",
        "weather": [FakeResponse(tool_calls=[FakeToolCall("get_weather", {"location": "NYC"})]),
                    "It's sunny in NYC."],
    })

    async def test_greeting(self):
        response = await self.say("Hello")
        self.assertIn("hello", response.lower())

    async def test_weather_tool(self):
        response = await self.say("What's the weather in NYC?")
        self.assertToolCalled("get_weather")
        self.assertToolCalled("get_weather", location="NYC")
        self.assertIn("sunny", response)

    async def test_expect_style(self):
        await self.say("What's the weather in NYC?")
        self.result.expect.next_event().is_function_call(name="get_weather", arguments={"location": "NYC"})


class RouterTest(AgentTest):
    agent = Router
    llm = FakeLLM(rules={"bill": [FakeResponse(tool_calls=[FakeToolCall("to_billing", {})])]})

    async def test_handoff(self):
        await self.say("I have a billing question")
        self.assertHandoff(to=Billing)
'''

WRONG = '''
from livekit.agents import Agent
from livekit.agents.testing import AgentTest, FakeLLM


class MyAgent(Agent):
    def __init__(self):
        super().__init__(instructions="x")


class WrongTest(AgentTest):
    agent = MyAgent
    llm = FakeLLM(["Sorry, I cannot check the weather."])

    async def test_weather_tool(self):
        await self.say("What's the weather in NYC?")
        self.assertToolCalled("get_weather", location="NYC")
'''

REAL_LLM = '''
from livekit.agents import Agent
from livekit.agents.testing import AgentTest


class RealTest(AgentTest):
    agent = Agent
    llm = "nosuchprovider/model"

    def create_agent(self):
        return Agent(instructions="x")

    async def test_needs_provider(self):
        await self.say("hi")
'''


def test_seed_example_passes(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_seed=SEED)
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=4)


def test_wrong_assertion_fails_readably(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_wrong=WRONG)
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert "expected a call to get_weather(location='NYC'); got no tool calls" in out
    assert "user: What's the weather in NYC?" in out
    assert "assistant: Sorry, I cannot check the weather." in out


def test_unavailable_llm_skips_cleanly(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_real=REAL_LLM)
    result = pytester.runpytest_subprocess("-q", "-rs", "-p", "no:cacheprovider")
    result.assert_outcomes(skipped=1)
    assert "nosuchprovider/model is not installed" in result.stdout.str()


def test_pytest_plugin_fixtures(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_fixtures='''
import asyncio
from livekit.agents import Agent

def test_session(make_session, fake_llm):
    fake_llm.add_reply("Hi there!")

    async def main():
        async with make_session(Agent(instructions="x"), llm=fake_llm) as session:
            result = await session.run(user_input="Hello")
            result.expect.next_event().is_message(role="assistant")
            return result.events[0].item.text_content

    assert asyncio.run(main()) == "Hi there!"
''')
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
