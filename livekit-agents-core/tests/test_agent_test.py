"""``AgentTest``: the seed example passes under pytest, a wrong assertion explains itself, and a
provider string skips only when the environment lacks the provider (a typo fails)."""

from __future__ import annotations

import unittest
from typing import Any

import pytest

from livekit.agents import Agent, MissingCredentialsError, registry
from livekit.agents.registry import PluginImportError, ProviderStringError, UnknownProviderError
from livekit.agents.testing import AgentTest, FakeLLM

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

TYPO_LLM = '''
from livekit.agents import Agent
from livekit.agents.testing import AgentTest


class TypoTest(AgentTest):
    llm = "opnai/gpt-4o-mini"

    def create_agent(self):
        return Agent(instructions="x")

    async def test_needs_provider(self):
        await self.say("hi")
'''

# As if livekit-plugins-anthropic were not installed: hide its entry point from the registry.
WITHOUT_ANTHROPIC = '''
import importlib.metadata

from livekit.agents import registry

_entry_points = importlib.metadata.entry_points


def entry_points(**kwargs):
    found = _entry_points(**kwargs)
    if kwargs.get("group") == "livekit.agents.llm":
        return [ep for ep in found if ep.name != "anthropic"]
    return found


importlib.metadata.entry_points = entry_points
registry.refresh()
'''

MISSING_FIRST_PARTY = '''
from livekit.agents import Agent
from livekit.agents.testing import AgentTest


class ClaudeTest(AgentTest):
    llm = "anthropic/claude-3-5-sonnet"

    def create_agent(self):
        return Agent(instructions="x")

    async def test_needs_provider(self):
        await self.say("hi")
'''

PLAIN_ASSERT = '''
from livekit.agents import Agent
from livekit.agents.testing import AgentTest, FakeLLM


class MyAgent(Agent):
    def __init__(self):
        super().__init__(instructions="x")


class GreetingTest(AgentTest):
    agent = MyAgent
    llm = FakeLLM(rules={"hello": "Hello! How can I help?"})

    async def test_greeting(self):
        response = await self.say("Hello")
        self.assertIn("goodbye", response.lower())
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


def test_plain_assertion_failure_shows_conversation(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_plain=PLAIN_ASSERT)
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert "'goodbye' not found in 'hello! how can i help?'" in out
    assert "Run for user input 'Hello':" in out
    assert "user: Hello" in out
    assert "assistant: Hello! How can I help?" in out
    # The failure report shows the conversation once (pytest's short summary may repeat the
    # whole message when it runs under CI, so count in the failure section only).
    report = out.split("short test summary info")[0]
    assert report.count("Conversation so far:") == 1


def test_typo_in_llm_fails_instead_of_skipping(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_typo=TYPO_LLM)
    result = pytester.runpytest_subprocess("-q", "-rs", "-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert "UnknownProviderError" in out
    assert "unknown LLM provider 'opnai' in 'opnai/gpt-4o-mini'" in out
    assert "Installed LLM providers: " in out
    assert "'fake'" in out  # the core's own provider is always listed
    assert "not installed" not in out


def test_missing_first_party_llm_skips_cleanly(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(WITHOUT_ANTHROPIC)
    pytester.makepyfile(test_claude=MISSING_FIRST_PARTY)
    result = pytester.runpytest_subprocess("-q", "-rs", "-p", "no:cacheprovider")
    result.assert_outcomes(skipped=1)
    out = result.stdout.str()
    assert "anthropic/claude-3-5-sonnet is not installed" in out
    assert 'pip install "livekit-agents[anthropic]"' in out


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


# -- in-process: each kind of failing assertion, and how a provider string is resolved ------


def _run_case(case: unittest.TestCase) -> unittest.TestResult:
    result = unittest.TestResult()
    case.run(result)
    return result


def _failure_message(case: unittest.TestCase) -> str:
    result = _run_case(case)
    assert not result.errors, result.errors
    assert len(result.failures) == 1, result.failures
    return result.failures[0][1]


class _Greeter(AgentTest):
    __test__ = False  # run by the tests below, which expect each method to fail
    llm = FakeLLM(rules={"hello": "Hello! How can I help?", "weather": "It is sunny."})

    def create_agent(self) -> Agent:
        return Agent(instructions="x")

    async def test_assert_in(self) -> None:
        self.assertIn("goodbye", (await self.say("Hello")).lower())

    async def test_assert_true_with_msg(self) -> None:
        await self.say("Hello")
        self.assertTrue(False, "custom note")

    async def test_assert_equal_multiline(self) -> None:
        self.assertEqual(await self.say("Hello"), "a\nb\n")

    async def test_assert_raises(self) -> None:
        await self.say("Hello")
        with self.assertRaises(KeyError):
            pass

    async def test_fail(self) -> None:
        await self.say("Hello")
        self.fail("direct failure")

    async def test_fail_without_message(self) -> None:
        await self.say("Hello")
        self.fail()

    async def test_tool_called(self) -> None:
        await self.say("Hello")
        self.assertToolCalled("get_weather")

    async def test_expect(self) -> None:
        await self.say("Hello")
        self.result.expect.next_event().is_function_call(name="get_weather")

    async def test_two_turns(self) -> None:
        await self.say("Hello")
        await self.say("And the weather?")
        self.assertIn("rain", await self.say("weather again"))

    async def test_before_any_turn(self) -> None:
        self.assertIn("goodbye", "hello")

    async def test_fail_before_any_turn(self) -> None:
        self.fail("nothing said yet")


@pytest.mark.parametrize(
    ("method", "expected"),
    [
        ("test_assert_in", "'goodbye' not found in 'hello! how can i help?'"),
        ("test_assert_true_with_msg", "False is not true : custom note"),
        ("test_assert_equal_multiline", "'Hello! How can I help?' != 'a\\nb\\n'"),
        ("test_assert_raises", "KeyError not raised"),
        ("test_fail", "direct failure"),
        ("test_fail_without_message", "AssertionError: Run for user input 'Hello':"),
        ("test_tool_called", "expected a call to get_weather(); got no tool calls"),
        ("test_expect", "expected a function call, got message assistant"),
    ],
)
def test_every_failing_assertion_shows_the_conversation_once(method: str, expected: str) -> None:
    message = _failure_message(_Greeter(method))
    assert expected in message
    assert message.count("Conversation so far:") == 1, message
    assert "  user: Hello\n  assistant: Hello! How can I help?" in message
    # the conversation comes after the assertion's own message
    assert message.index(expected) <= message.index("Conversation so far:")


def test_failure_shows_every_turn_so_far() -> None:
    message = _failure_message(_Greeter("test_two_turns"))
    assert "Run for user input 'weather again':" in message
    assert message.count("Conversation so far:") == 1
    for line in ("user: Hello", "user: And the weather?", "user: weather again"):
        assert line in message


@pytest.mark.parametrize(
    ("method", "expected"),
    [("test_before_any_turn", "AssertionError: 'goodbye' not found in 'hello'\n"),
     ("test_fail_before_any_turn", "AssertionError: nothing said yet\n")],
)
def test_messages_before_any_turn_are_unchanged(method: str, expected: str) -> None:
    message = _failure_message(_Greeter(method))
    assert message.endswith(expected)
    assert "Conversation so far:" not in message


class _ProviderCase(AgentTest):
    __test__ = False
    def create_agent(self) -> Agent:
        return Agent(instructions="x")


def _provider_case(spec: str) -> _ProviderCase:
    return type("_Case", (_ProviderCase,), {"llm": spec})()  # type: ignore[no-any-return]


def test_llm_typo_raises_the_registry_error() -> None:
    with pytest.raises(UnknownProviderError) as info:
        _provider_case("opnai/gpt-4o-mini").create_llm()
    assert info.value.provider == "opnai"
    assert "fake" in info.value.installed
    assert "Installed LLM providers:" in str(info.value)


def test_malformed_llm_string_raises_the_registry_error() -> None:
    with pytest.raises(ProviderStringError, match="invalid LLM provider string 'openai/'"):
        _provider_case("openai/").create_llm()


def test_first_party_llm_not_installed_skips(monkeypatch: pytest.MonkeyPatch) -> None:
    real = registry._installed

    def without_anthropic(kind: str) -> dict[str, registry.InstalledProvider]:
        return {k: v for k, v in real(kind).items() if k != "anthropic"}

    monkeypatch.setattr(registry, "_installed", without_anthropic)
    with pytest.raises(unittest.SkipTest, match="anthropic/claude-3-5-sonnet is not installed"):
        _provider_case("anthropic/claude-3-5-sonnet").create_llm()


def _raising(error: BaseException, cause: BaseException | None = None) -> Any:
    def resolve(kind: str, spec: Any, **options: Any) -> Any:
        raise error from cause

    return resolve


def test_first_party_llm_without_its_library_skips(monkeypatch: pytest.MonkeyPatch) -> None:
    error = PluginImportError("LLM provider 'openai' needs the module 'openai'")
    monkeypatch.setattr(registry, "resolve", _raising(error, ModuleNotFoundError("no openai")))
    with pytest.raises(unittest.SkipTest, match="openai/gpt-4o-mini is not installed"):
        _provider_case("openai/gpt-4o-mini").create_llm()


def test_broken_or_third_party_plugin_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    # a third-party plugin missing a library: not a first-party extra to install, so fail
    error = PluginImportError("LLM provider 'acme' failed to import")
    monkeypatch.setattr(registry, "resolve", _raising(error, ModuleNotFoundError("no acme_sdk")))
    with pytest.raises(PluginImportError):
        _provider_case("acme/model-1").create_llm()
    # a first-party plugin registered twice is broken, not missing
    conflict = PluginImportError("LLM provider 'openai' is registered by more than one")
    monkeypatch.setattr(registry, "resolve", _raising(conflict))
    with pytest.raises(PluginImportError):
        _provider_case("openai/gpt-4o-mini").create_llm()


def test_missing_api_key_skips(monkeypatch: pytest.MonkeyPatch) -> None:
    error = MissingCredentialsError("set OPENAI_API_KEY", env_var="OPENAI_API_KEY")
    monkeypatch.setattr(registry, "resolve", _raising(error))
    with pytest.raises(unittest.SkipTest, match="OPENAI_API_KEY"):
        _provider_case("openai/gpt-4o-mini").create_llm()
