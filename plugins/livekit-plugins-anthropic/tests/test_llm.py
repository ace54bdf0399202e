"""anthropic.LLM through the real SDK against the local fake Messages API."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from fake_servers.anthropic import FakeAnthropic, ToolUseScript

from livekit.agents import (
    Agent,
    AgentSession,
    APIConnectionError,
    APIConnectOptions,
    APIStatusError,
    APITimeoutError,
    ChatContext,
    FunctionCall,
    FunctionCallOutput,
    MissingCredentialsError,
    function_tool,
)
from livekit.agents.llm import LLMError
from livekit.agents.metrics import LLMMetrics
from livekit.plugins import anthropic

FAST = APIConnectOptions(max_retry=2, retry_interval=0.01, timeout=5.0)


def _llm(srv: FakeAnthropic, **kwargs: Any) -> anthropic.LLM:
    kwargs.setdefault("model", "claude-haiku-4-5")
    return anthropic.LLM(base_url=srv.base_url, api_key=srv.api_key, **kwargs)


def _ctx(text: str = "Hello!") -> ChatContext:
    ctx = ChatContext.empty()
    ctx.add_message(role="system", content="You are terse.")
    ctx.add_message(role="user", content=text)
    return ctx


@function_tool
async def get_weather(city: str) -> str:
    """Get the current weather for a city.

    Args:
        city: The city name.
    """
    return f"Sunny in {city}"


@function_tool
async def get_time(timezone: str) -> str:
    """Get the current time in a timezone."""
    return "12:00"


# -- happy paths ---------------------------------------------------------------------------


async def test_text_arrives_incrementally(srv: FakeAnthropic) -> None:
    srv.script_message("The quick brown fox jumps.")
    # message_start, ping, content_block_start and two text deltas; then the server waits
    gate = srv.hold_next(after=5)
    llm = _llm(srv)
    received: list[str] = []
    async with llm.chat(chat_ctx=_ctx(), conn_options=FAST) as stream:
        async for chunk in stream:
            if chunk.delta and chunk.delta.content:
                received.append(chunk.delta.content)
            if "".join(received) == "The quick ":
                assert not gate.is_set()
                assert srv.message_requests[-1].status == 0
                gate.set()
    assert "".join(received) == "The quick brown fox jumps."
    await llm.aclose()


async def test_request_is_what_the_api_expects(srv: FakeAnthropic) -> None:
    llm = _llm(srv, max_tokens=300, temperature=0.3, user="user-42")
    response = await llm.chat(chat_ctx=_ctx("Hi"), conn_options=FAST).collect()
    assert response.text == srv.default_reply
    req = srv.message_requests[-1]
    assert FakeAnthropic.sent_key(req) == srv.api_key
    assert req.headers["anthropic-version"]
    body = req.json
    assert body["model"] == "claude-haiku-4-5-20251001"  # the short name was expanded
    assert body["max_tokens"] == 300
    assert body["stream"] is True
    assert body["system"] == [{"type": "text", "text": "You are terse."}]
    assert body["messages"] == [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}]
    assert body["temperature"] == 0.3
    assert body["metadata"] == {"user_id": "user-42"}
    assert "tools" not in body and "tool_choice" not in body
    srv.assert_no_violations()
    await llm.aclose()


async def test_usage_includes_cache_tokens(srv: FakeAnthropic) -> None:
    srv.script_message(
        "Done.",
        usage={
            "input_tokens": 50,
            "output_tokens": 12,
            "cache_creation_input_tokens": 20,
            "cache_read_input_tokens": 100,
        },
    )
    llm = _llm(srv)
    metrics: list[LLMMetrics] = []
    llm.on("metrics_collected", metrics.append)
    response = await llm.chat(chat_ctx=_ctx(), conn_options=FAST).collect()
    usage = response.usage
    assert usage is not None
    assert usage.prompt_tokens == 170  # input + cache creation + cache read
    assert usage.prompt_cached_tokens == 100
    assert usage.completion_tokens == 12  # the cumulative figure, not added twice
    assert usage.total_tokens == 182
    assert metrics[-1].completion_tokens == 12 and metrics[-1].request_id.startswith("msg_")
    await llm.aclose()


async def test_tool_use_input_is_accumulated(srv: FakeAnthropic) -> None:
    srv.script_message(
        "Let me check.",
        tool_calls=[ToolUseScript("get_weather", {"city": "San Francisco"}, id="toolu_01")],
        input_pieces=6,
    )
    llm = _llm(srv)
    response = await llm.chat(
        chat_ctx=_ctx("Weather?"), tools=[get_weather], conn_options=FAST
    ).collect()
    assert response.text == "Let me check."
    assert len(response.tool_calls) == 1
    call = response.tool_calls[0]
    assert (call.name, call.call_id) == ("get_weather", "toolu_01")
    assert json.loads(call.arguments) == {"city": "San Francisco"}
    tools = srv.message_requests[-1].json["tools"]
    assert tools == [
        {
            "name": "get_weather",
            "description": "Get the current weather for a city.",
            "input_schema": get_weather.schema()["parameters"],
        }
    ]
    srv.assert_no_violations()
    await llm.aclose()


async def test_parallel_tool_uses(srv: FakeAnthropic) -> None:
    srv.script_message(
        tool_calls=[("get_weather", {"city": "Paris"}), ("get_time", {"timezone": "CET"})]
    )
    llm = _llm(srv)
    response = await llm.chat(
        chat_ctx=_ctx(), tools=[get_weather, get_time], conn_options=FAST
    ).collect()
    assert [c.name for c in response.tool_calls] == ["get_weather", "get_time"]
    assert [json.loads(c.arguments) for c in response.tool_calls] == [
        {"city": "Paris"},
        {"timezone": "CET"},
    ]
    await llm.aclose()


@pytest.mark.parametrize(
    ("choice", "parallel", "expected"),
    [
        ("auto", False, {"type": "auto", "disable_parallel_tool_use": True}),
        ("required", None, {"type": "any"}),
        ("none", None, {"type": "none"}),
        (
            {"type": "function", "function": {"name": "get_time"}},
            None,
            {"type": "tool", "name": "get_time"},
        ),
        (None, None, None),
    ],
)
async def test_tool_choice_mapping(
    srv: FakeAnthropic, choice: Any, parallel: Any, expected: Any
) -> None:
    llm = _llm(srv)
    kwargs: dict[str, Any] = {}
    if choice is not None:
        kwargs["tool_choice"] = choice
    if parallel is not None:
        kwargs["parallel_tool_calls"] = parallel
    await llm.chat(
        chat_ctx=_ctx(), tools=[get_weather, get_time], conn_options=FAST, **kwargs
    ).collect()
    assert srv.message_requests[-1].json.get("tool_choice") == expected
    srv.assert_no_violations()
    await llm.aclose()


async def test_tool_results_go_back_as_tool_result_blocks(srv: FakeAnthropic) -> None:
    ctx = _ctx("Weather in Paris?")
    ctx.insert(FunctionCall(call_id="toolu_9", name="get_weather", arguments='{"city": "Paris"}'))
    ctx.insert(
        FunctionCallOutput(call_id="toolu_9", name="get_weather", output="Sunny", is_error=False)
    )
    llm = _llm(srv)
    await llm.chat(chat_ctx=ctx, tools=[get_weather], conn_options=FAST).collect()
    messages = srv.message_requests[-1].json["messages"]
    assert messages[-2] == {
        "role": "assistant",
        "content": [
            {"type": "tool_use", "id": "toolu_9", "name": "get_weather", "input": {"city": "Paris"}}
        ],
    }
    assert messages[-1]["content"] == [
        {"type": "tool_result", "tool_use_id": "toolu_9", "content": "Sunny", "is_error": False}
    ]
    srv.assert_no_violations()
    await llm.aclose()


async def test_prompt_caching_marks_breakpoints(srv: FakeAnthropic) -> None:
    llm = _llm(srv, caching="ephemeral")
    await llm.chat(chat_ctx=_ctx(), tools=[get_weather], conn_options=FAST).collect()
    body = srv.message_requests[-1].json
    assert body["system"][-1]["cache_control"] == {"type": "ephemeral"}
    assert body["tools"][-1]["cache_control"] == {"type": "ephemeral"}
    assert body["messages"][-1]["content"][-1]["cache_control"] == {"type": "ephemeral"}
    await llm.aclose()


async def test_thinking_passage_is_not_spoken(srv: FakeAnthropic) -> None:
    srv.script_message("<thinking> I should call the tool. </thinking> Checking now.")
    llm = _llm(srv)
    response = await llm.chat(chat_ctx=_ctx(), conn_options=FAST).collect()
    assert response.text == "Checking now."
    await llm.aclose()


@pytest.mark.parametrize(
    ("model", "last_role"), [("claude-sonnet-4-6", "user"), ("claude-haiku-4-5", "assistant")]
)
async def test_prefill_only_for_models_that_support_it(
    srv: FakeAnthropic, model: str, last_role: str
) -> None:
    ctx = _ctx()
    ctx.add_message(role="assistant", content="Hello! How can I help?")
    llm = _llm(srv, model=model)
    await llm.chat(chat_ctx=ctx, conn_options=FAST).collect()
    assert srv.message_requests[-1].json["messages"][-1]["role"] == last_role
    await llm.aclose()


# -- faults --------------------------------------------------------------------------------


async def test_401_is_not_retried_and_does_not_leak_the_key(srv: FakeAnthropic) -> None:
    secret = "sk-ant-wrong-secret-123456"
    llm = anthropic.LLM(model="claude-3-5-sonnet", base_url=srv.base_url, api_key=secret)
    errors: list[LLMError] = []
    llm.on("error", errors.append)
    with pytest.raises(APIStatusError) as info:
        await llm.chat(chat_ctx=_ctx(), conn_options=FAST).collect()
    err = info.value
    assert err.status_code == 401 and err.retryable is False
    assert "rejected the API key" in str(err) and "ANTHROPIC_API_KEY" in str(err)
    assert secret not in str(err)
    assert len(srv.message_requests) == 1
    assert [e.recoverable for e in errors] == [False]
    await llm.aclose()


async def test_403_is_not_retried(srv: FakeAnthropic) -> None:
    srv.fail_next(403)
    llm = _llm(srv)
    with pytest.raises(APIStatusError) as info:
        await llm.chat(chat_ctx=_ctx(), conn_options=FAST).collect()
    assert info.value.status_code == 403 and info.value.retryable is False
    assert "API key" in str(info.value) and "ANTHROPIC_API_KEY" in str(info.value)
    assert len(srv.message_requests) == 1
    await llm.aclose()


async def test_keys_never_reach_the_logs(
    srv: FakeAnthropic, caplog: pytest.LogCaptureFixture
) -> None:
    """At DEBUG level, through a retry and a rejected key."""
    caplog.set_level(logging.DEBUG)
    key, wrong = srv.api_key or "", "sk-ant-wrong-secret-123456"
    llm = _llm(srv)
    srv.fail_next(500)
    await llm.chat(chat_ctx=_ctx(), conn_options=FAST).collect()
    bad = anthropic.LLM(model="claude-haiku-4-5", base_url=srv.base_url, api_key=wrong)
    with pytest.raises(APIStatusError):
        await bad.chat(chat_ctx=_ctx(), conn_options=FAST).collect()
    await llm.aclose()
    await bad.aclose()
    assert "retrying" in caplog.text  # the retry was logged...
    assert key not in caplog.text and wrong not in caplog.text  # ...without a key


async def test_429_is_retried_honouring_retry_after(
    srv: FakeAnthropic, retry_sleeps: list[float]
) -> None:
    srv.fail_next(429, retry_after=2)
    srv.script_message("Recovered.")
    llm = _llm(srv)
    response = await llm.chat(chat_ctx=_ctx(), conn_options=FAST).collect()
    assert response.text == "Recovered."
    assert [r.status for r in srv.message_requests] == [429, 200]  # the SDK did not retry itself
    assert retry_sleeps == [2.0]
    await llm.aclose()


async def test_429_with_retry_after_beyond_the_timeout_fails_fast(srv: FakeAnthropic) -> None:
    srv.fail_next(429, retry_after=120)
    llm = _llm(srv)
    with pytest.raises(APIStatusError) as info:
        await llm.chat(chat_ctx=_ctx(), conn_options=FAST).collect()
    assert info.value.status_code == 429 and info.value.retry_after == 120
    assert "rate_limit_error" in str(info.value)
    assert len(srv.message_requests) == 1
    await llm.aclose()


@pytest.mark.parametrize("status", [500, 529])
async def test_server_errors_are_retried_then_succeed(srv: FakeAnthropic, status: int) -> None:
    srv.fail_next(status, times=2)
    srv.script_message("Third time lucky.")
    llm = _llm(srv)
    response = await llm.chat(chat_ctx=_ctx(), conn_options=FAST).collect()
    assert response.text == "Third time lucky."
    assert [r.status for r in srv.message_requests] == [status, status, 200]
    await llm.aclose()


async def test_overloaded_error_event_before_output_is_retried(srv: FakeAnthropic) -> None:
    srv.error_event_next("overloaded_error", after=2)  # after message_start and ping
    srv.script_message("Never sent.")  # consumed by the failed attempt
    srv.script_message("Fine now.")
    llm = _llm(srv)
    errors: list[LLMError] = []
    llm.on("error", errors.append)
    response = await llm.chat(chat_ctx=_ctx(), conn_options=FAST).collect()
    assert response.text == "Fine now."
    assert isinstance(errors[0].error, APIStatusError) and errors[0].error.status_code == 529
    assert errors[0].recoverable
    await llm.aclose()


async def test_disconnect_after_output_is_an_error_and_not_retried(srv: FakeAnthropic) -> None:
    srv.script_message("One two three four five six.")
    srv.disconnect_next(after=5)
    llm = _llm(srv)
    received: list[str] = []
    with pytest.raises(APIConnectionError):
        async with llm.chat(chat_ctx=_ctx(), conn_options=FAST) as stream:
            async for chunk in stream:
                if chunk.delta and chunk.delta.content:
                    received.append(chunk.delta.content)
    assert "".join(received) == "One two "
    assert len(srv.message_requests) == 1
    await llm.aclose()


async def test_disconnect_before_output_is_retried(srv: FakeAnthropic) -> None:
    srv.disconnect_next(after=0)
    srv.script_message("Back again.")
    llm = _llm(srv)
    response = await llm.chat(chat_ctx=_ctx(), conn_options=FAST).collect()
    assert response.text == "Back again."
    assert len(srv.message_requests) == 2
    await llm.aclose()


async def test_stall_times_out(srv: FakeAnthropic) -> None:
    srv.stall_next(after=3)
    llm = _llm(srv)
    with pytest.raises(APITimeoutError):
        await llm.chat(
            chat_ctx=_ctx(), conn_options=APIConnectOptions(max_retry=0, timeout=0.3)
        ).collect()
    await llm.aclose()


# -- construction, keys, strings -----------------------------------------------------------


def test_missing_key_names_the_variable() -> None:
    with pytest.raises(MissingCredentialsError) as info:
        anthropic.LLM()
    assert "ANTHROPIC_API_KEY" in str(info.value)
    assert info.value.env_var == "ANTHROPIC_API_KEY"


def test_bad_options_are_rejected() -> None:
    with pytest.raises(ValueError, match="max_tokens"):
        anthropic.LLM(api_key="k", max_tokens=0)
    with pytest.raises(ValueError, match="model"):
        anthropic.LLM(api_key="k", model="")


def test_model_names() -> None:
    assert (
        anthropic.LLM(api_key="k", model="claude-3-5-sonnet").model == "claude-3-5-sonnet-20241022"
    )
    assert (
        anthropic.LLM(api_key="k", model="claude-3-7-sonnet").model == "claude-3-7-sonnet-20250219"
    )
    assert anthropic.LLM(api_key="k", model="claude-sonnet-4").model == "claude-sonnet-4-20250514"
    assert anthropic.LLM(api_key="k", model="claude-opus-4").model == "claude-opus-4-20250514"
    full = "claude-3-5-sonnet-20240620"
    assert anthropic.LLM(api_key="k", model=full).model == full
    assert (
        anthropic.LLM(api_key="k", model="claude-3-5-sonnet-latest").model
        == "claude-3-5-sonnet-latest"
    )


async def test_resolve_by_string(srv: FakeAnthropic, monkeypatch: pytest.MonkeyPatch) -> None:
    from livekit.agents import registry

    llm = registry.resolve(
        "llm", "anthropic/claude-3-5-sonnet", api_key=srv.api_key, base_url=srv.base_url
    )
    assert isinstance(llm, anthropic.LLM)
    assert llm.model == "claude-3-5-sonnet-20241022" and llm.provider == "anthropic"
    await llm.chat(chat_ctx=_ctx(), conn_options=FAST).collect()
    assert srv.message_requests[-1].json["model"] == "claude-3-5-sonnet-20241022"
    await llm.aclose()

    monkeypatch.setenv("ANTHROPIC_API_KEY", srv.api_key or "")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", srv.base_url)
    from_env = registry.resolve("llm", "anthropic/claude-sonnet-4-6")
    await from_env.chat(chat_ctx=_ctx(), conn_options=FAST).collect()
    assert srv.message_requests[-1].json["model"] == "claude-sonnet-4-6"
    await from_env.aclose()


def test_string_without_key_fails_at_resolution() -> None:
    from livekit.agents import registry

    with pytest.raises(MissingCredentialsError, match="ANTHROPIC_API_KEY"):
        registry.resolve("llm", "anthropic/claude-3-5-sonnet")


# -- a text turn in a session --------------------------------------------------------------


class WeatherAgent(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="You are a helpful weather assistant.")

    @function_tool
    async def get_weather(self, city: str) -> str:
        """Get the current weather for a city."""
        return f"It is sunny in {city}."


async def test_session_turn_with_a_tool_call(srv: FakeAnthropic) -> None:
    srv.script_message(tool_calls=[("get_weather", {"city": "Oslo"})])
    srv.script_message("It is sunny in Oslo.")
    llm = _llm(srv)
    async with AgentSession(llm=llm) as session:
        await session.start(WeatherAgent())
        result = await session.run(user_input="Weather in Oslo?")
        result.expect.next_event().is_function_call(name="get_weather", arguments={"city": "Oslo"})
        result.expect.next_event().is_function_call_output(output="It is sunny in Oslo.")
        result.expect.next_event().is_message(role="assistant")
        result.expect.no_more_events()
    first, second = srv.message_requests
    assert first.json["system"] == [
        {"type": "text", "text": "You are a helpful weather assistant."}
    ]
    assert second.json["messages"][-1]["content"][0]["type"] == "tool_result"
    srv.assert_no_violations()
    await llm.aclose()
