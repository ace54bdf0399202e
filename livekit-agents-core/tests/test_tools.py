"""@function_tool: schemas from hints and docstrings, argument validation, execution outcomes."""

from __future__ import annotations

import enum
import json
from typing import Annotated, Any, Literal, Optional

import pydantic
import pytest

from livekit.agents import Agent, AgentSession, RunContext, StopResponse, ToolError, function_tool
from livekit.agents.llm import ToolContext
from livekit.agents.testing import FakeLLM, FakeResponse, FakeToolCall


class Unit(str, enum.Enum):
    CELSIUS = "celsius"
    FAHRENHEIT = "fahrenheit"


class Address(pydantic.BaseModel):
    street: str
    city: str


@function_tool
async def lookup(
    ctx: RunContext,
    city: str,
    days: int = 1,
    unit: Unit = Unit.CELSIUS,
    mode: Literal["fast", "slow"] = "fast",
    tags: list[str] | None = None,
    note: Optional[str] = None,
    extra: Annotated[int, pydantic.Field(description="an extra knob", ge=0)] = 0,
) -> str:
    """Look up a forecast.

    Longer explanation for the model.

    Args:
        city: The city name.
        days: How many days ahead.
    """
    return f"{city}:{days}:{unit.value}:{mode}:{tags}:{note}:{extra}"


def test_schema_from_hints_and_docstring() -> None:
    schema = lookup.schema()
    assert schema["name"] == "lookup"
    assert schema["description"] == "Look up a forecast.\n\nLonger explanation for the model."
    params = schema["parameters"]
    props = params["properties"]
    assert params["type"] == "object"
    assert params["required"] == ["city"]
    assert "ctx" not in props  # the RunContext is hidden from the LLM
    assert props["city"] == {"type": "string", "description": "The city name."}
    assert props["days"]["type"] == "integer" and props["days"]["default"] == 1
    assert props["days"]["description"] == "How many days ahead."
    assert props["mode"]["enum"] == ["fast", "slow"]
    assert props["extra"]["description"] == "an extra knob" and props["extra"]["minimum"] == 0
    unit_schema = json.dumps(params)
    assert "celsius" in unit_schema and "fahrenheit" in unit_schema
    tags = props["tags"]["anyOf"]
    assert {"type": "array", "items": {"type": "string"}} in tags and {"type": "null"} in tags
    assert "title" not in json.dumps(props["city"])


def test_pydantic_model_arguments() -> None:
    @function_tool
    def ship(address: Address, express: bool = False) -> str:
        """Ship a parcel."""
        return address.city

    schema = ship.schema()["parameters"]
    assert "$defs" in schema
    assert schema["$defs"]["Address"]["required"] == ["street", "city"]


def test_methods_bind_to_the_agent() -> None:
    class Shop(Agent):
        def __init__(self) -> None:
            super().__init__(instructions="x")
            self.stock = 3

        @function_tool
        async def count(self) -> int:
            """How many items are in stock."""
            return self.stock

    shop = Shop()
    assert [t.name for t in shop.tools] == ["count"]
    assert shop.tools[0].schema()["parameters"]["properties"] == {}
    assert shop.count.instance is shop


def test_invalid_tool_names_and_signatures_fail_early() -> None:
    with pytest.raises(ValueError, match="invalid tool name"):
        function_tool(name="has spaces")(lambda: None)
    with pytest.raises(ValueError, match="raw_schema needs"):
        function_tool(raw_schema={"name": "x"})(lambda raw_arguments: None)

    @function_tool
    def star(*args: int) -> None:
        """Bad."""

    with pytest.raises(TypeError, match="cannot take \\*args"):
        star.schema()


def test_duplicate_tool_names_are_rejected() -> None:
    @function_tool(name="same")
    def a() -> None:
        """A."""

    @function_tool(name="same")
    def b() -> None:
        """B."""

    with pytest.raises(ValueError, match="two tools are named 'same'"):
        ToolContext([a, b])


def test_raw_schema_tools() -> None:
    @function_tool(raw_schema={"name": "raw", "description": "Raw tool", "parameters": {
        "type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]}})
    async def raw(raw_arguments: dict[str, Any], ctx: RunContext) -> str:
        return raw_arguments["q"]

    assert raw.schema() == {"name": "raw", "description": "Raw tool", "parameters": {
        "type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]}}


async def _run_tool_turn(tool: Any, arguments: str | dict[str, Any]) -> Any:
    llm = FakeLLM([FakeResponse(tool_calls=[FakeToolCall(tool.name, arguments)]), "after"])
    session = AgentSession(llm=llm)
    await session.start(Agent(instructions="x", tools=[tool]))
    result = await session.run(user_input="go")
    await session.aclose()
    return result, llm


async def test_valid_arguments_are_converted() -> None:
    result, _ = await _run_tool_turn(lookup, {"city": "Paris", "days": "3", "unit": "fahrenheit", "tags": ["a"]})
    result.expect.next_event().is_function_call(name="lookup")
    out = result.expect.next_event().is_function_call_output(is_error=False)
    assert out.item.output == "Paris:3:fahrenheit:fast:['a']:None:0"


@pytest.mark.parametrize(
    ("arguments", "fragment"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "expected a JSON object"),
        ({}, "city: Field required"),
        ({"city": "Paris", "mode": "warp"}, "mode: Input should be 'fast' or 'slow'"),
        ({"city": "Paris", "bogus": 1}, "bogus: unexpected argument"),
        ({"city": "Paris", "extra": -1}, "extra: Input should be greater than or equal to 0"),
    ],
)
async def test_bad_arguments_become_a_clear_error_for_the_llm(arguments: Any, fragment: str) -> None:
    result, llm = await _run_tool_turn(lookup, arguments)
    out = result.expect.next_event(type="function_call_output").is_function_call_output(is_error=True)
    assert "Error parsing arguments for `lookup`" in out.item.output
    assert fragment in out.item.output
    # the error went back to the LLM, which answered
    assert len(llm.requests) == 2
    result.expect.next_event().is_message(role="assistant")


async def test_tool_error_is_reported_to_the_llm() -> None:
    @function_tool
    async def book(when: str) -> str:
        """Book a table."""
        raise ToolError("no table free at 8pm")

    result, _ = await _run_tool_turn(book, {"when": "8pm"})
    out = result.expect.next_event(type="function_call_output").is_function_call_output(is_error=True)
    assert out.item.output == "no table free at 8pm"


async def test_unexpected_exception_is_generic_for_the_llm_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    @function_tool
    async def crash() -> str:
        """Crash."""
        raise KeyError("secret internal detail")

    result, _ = await _run_tool_turn(crash, {})
    out = result.expect.next_event(type="function_call_output").is_function_call_output(is_error=True)
    assert "internal error" in out.item.output
    assert "secret internal detail" not in out.item.output
    assert "tool crash raised" in caplog.text and "secret internal detail" in caplog.text


async def test_unknown_tool_lists_available_tools() -> None:
    llm = FakeLLM([FakeResponse(tool_calls=[FakeToolCall("nope", {})]), "ok"])
    session = AgentSession(llm=llm)
    await session.start(Agent(instructions="x", tools=[lookup]))
    result = await session.run(user_input="go")
    await session.aclose()
    out = result.expect.next_event(type="function_call_output").is_function_call_output(is_error=True)
    assert out.item.output == "Unknown function: nope - available tools: lookup"


async def test_stop_response_from_a_tool_skips_the_reply() -> None:
    @function_tool
    async def hang_up() -> None:
        """End the call."""
        raise StopResponse()

    result, llm = await _run_tool_turn(hang_up, {})
    result.expect.next_event().is_function_call(name="hang_up")
    result.expect.next_event().is_function_call_output(output="")
    result.expect.no_more_events()
    assert len(llm.requests) == 1


async def test_invalid_return_values_are_errors() -> None:
    @function_tool
    async def weird() -> Any:
        """Return something odd."""
        return object()

    result, _ = await _run_tool_turn(weird, {})
    out = result.expect.next_event(type="function_call_output").is_function_call_output(is_error=True)
    assert out.item.output == "the tool returned an invalid output"


async def test_structured_returns_are_json() -> None:
    @function_tool
    async def info() -> dict[str, Any]:
        """Info."""
        return {"temp": 21, "ok": True}

    result, _ = await _run_tool_turn(info, {})
    out = result.expect.next_event(type="function_call_output").is_function_call_output(is_error=False)
    assert json.loads(out.item.output) == {"temp": 21, "ok": True}
