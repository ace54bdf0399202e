"""openai.LLM through the real SDK against the local fake Chat Completions server."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from fake_servers.openai import FakeOpenAI, ToolCallScript
from livekit import rtc

from livekit.agents import (
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
from livekit.agents.llm import ChatChunk, LLMError
from livekit.agents.metrics import LLMMetrics
from livekit.plugins import openai

#: fast retries for tests; the timeout bounds stalls and Retry-After
FAST = APIConnectOptions(max_retry=2, retry_interval=0.01, timeout=5.0)


def _llm(srv: FakeOpenAI, **kwargs: Any) -> openai.LLM:
    return openai.LLM(model="gpt-4o-mini", base_url=srv.base_url, api_key=srv.api_key, **kwargs)


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


async def test_text_arrives_incrementally(srv: FakeOpenAI) -> None:
    srv.script_chat("The quick brown fox jumps.")
    gate = srv.hold_next(after=3)  # role chunk + two words, then the server waits
    llm = _llm(srv)
    received: list[str] = []
    async with llm.chat(chat_ctx=_ctx(), conn_options=FAST) as stream:
        async for chunk in stream:
            if chunk.delta and chunk.delta.content:
                received.append(chunk.delta.content)
            if "".join(received) == "The quick ":
                # the first words are here while the server still holds the rest
                assert not gate.is_set()
                assert srv.chat_requests[-1].status == 0
                gate.set()
    assert "".join(received) == "The quick brown fox jumps."
    assert len(received) == 5
    await llm.aclose()


async def test_request_is_what_the_api_expects(srv: FakeOpenAI) -> None:
    llm = _llm(srv, temperature=0.2, max_completion_tokens=50)
    response = await llm.chat(chat_ctx=_ctx("Hi"), conn_options=FAST).collect()
    assert response.text == srv.default_reply
    req = srv.chat_requests[-1]
    assert req.headers["Authorization"] == f"Bearer {srv.api_key}"
    body = req.json
    assert body["model"] == "gpt-4o-mini"
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert body["temperature"] == 0.2
    assert body["max_completion_tokens"] == 50
    assert body["messages"] == [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "Hi"},
    ]
    assert "tools" not in body and "tool_choice" not in body
    srv.assert_no_violations()
    await llm.aclose()


async def test_usage_is_reported_with_cached_tokens(srv: FakeOpenAI) -> None:
    srv.script_chat(
        "Done.", usage={"prompt_tokens": 120, "completion_tokens": 7, "cached_tokens": 64}
    )
    llm = _llm(srv)
    metrics: list[LLMMetrics] = []
    llm.on("metrics_collected", metrics.append)
    response = await llm.chat(chat_ctx=_ctx(), conn_options=FAST).collect()
    assert response.usage is not None
    assert (response.usage.prompt_tokens, response.usage.completion_tokens) == (120, 7)
    assert response.usage.total_tokens == 127
    assert response.usage.prompt_cached_tokens == 64
    assert metrics and metrics[-1].prompt_tokens == 120 and metrics[-1].completion_tokens == 7
    assert metrics[-1].request_id.startswith("chatcmpl-")
    assert metrics[-1].ttft >= 0
    await llm.aclose()


async def test_tool_call_with_arguments_split_across_deltas(srv: FakeOpenAI) -> None:
    srv.script_chat(
        tool_calls=[ToolCallScript("get_weather", {"city": "San Francisco"}, id="call_abc")],
        argument_pieces=5,
    )
    llm = _llm(srv)
    chunks: list[ChatChunk] = []
    async with llm.chat(
        chat_ctx=_ctx("Weather?"), tools=[get_weather], conn_options=FAST
    ) as stream:
        chunks = [c async for c in stream]
    calls = [tc for c in chunks if c.delta for tc in c.delta.tool_calls]
    assert len(calls) == 1
    assert calls[0].name == "get_weather"
    assert calls[0].call_id == "call_abc"
    assert json.loads(calls[0].arguments) == {"city": "San Francisco"}

    tools = srv.chat_requests[-1].json["tools"]
    assert tools == [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Get the current weather for a city.",
                "parameters": get_weather.schema()["parameters"],
            },
        }
    ]
    assert tools[0]["function"]["parameters"]["properties"]["city"]["type"] == "string"
    srv.assert_no_violations()
    await llm.aclose()


@pytest.mark.parametrize("interleave", [False, True])
async def test_parallel_tool_calls_are_accumulated_by_index(
    srv: FakeOpenAI, interleave: bool
) -> None:
    srv.script_chat(
        "Let me check.",
        tool_calls=[("get_weather", {"city": "Paris"}), ("get_time", {"timezone": "Europe/Paris"})],
        argument_pieces=4,
        interleave=interleave,
    )
    llm = _llm(srv)
    response = await llm.chat(
        chat_ctx=_ctx(), tools=[get_weather, get_time], parallel_tool_calls=True, conn_options=FAST
    ).collect()
    assert response.text == "Let me check."
    assert [c.name for c in response.tool_calls] == ["get_weather", "get_time"]
    assert json.loads(response.tool_calls[0].arguments) == {"city": "Paris"}
    assert json.loads(response.tool_calls[1].arguments) == {"timezone": "Europe/Paris"}
    assert len({c.call_id for c in response.tool_calls}) == 2
    assert srv.chat_requests[-1].json["parallel_tool_calls"] is True
    await llm.aclose()


async def test_tool_choice_and_raw_schema_tools(srv: FakeOpenAI) -> None:
    raw = {
        "name": "lookup_order",
        "description": "Look up an order by id.",
        "parameters": {
            "type": "object",
            "properties": {"order_id": {"type": "string"}},
            "required": ["order_id"],
        },
    }

    @function_tool(raw_schema=raw)
    async def lookup_order(raw_arguments: dict[str, Any]) -> str:
        return "shipped"

    srv.script_chat(tool_calls=[("lookup_order", {"order_id": "A1"})])
    llm = _llm(srv)
    named = {"type": "function", "function": {"name": "lookup_order"}}
    response = await llm.chat(
        chat_ctx=_ctx(),
        tools=[lookup_order],
        tool_choice=named,
        parallel_tool_calls=False,  # type: ignore[arg-type]
        conn_options=FAST,
    ).collect()
    assert response.tool_calls[0].name == "lookup_order"
    body = srv.chat_requests[-1].json
    assert body["tools"] == [{"type": "function", "function": raw}]
    assert body["tool_choice"] == named
    assert body["parallel_tool_calls"] is False

    # tool_choice without tools is not sent (the API would reject it)
    await llm.chat(chat_ctx=_ctx(), tool_choice="required", conn_options=FAST).collect()
    assert "tool_choice" not in srv.chat_requests[-1].json
    srv.assert_no_violations()
    await llm.aclose()


async def test_tool_results_are_sent_back_in_order(srv: FakeOpenAI) -> None:
    ctx = _ctx("Weather in Paris?")
    ctx.insert(FunctionCall(call_id="call_1", name="get_weather", arguments='{"city": "Paris"}'))
    ctx.insert(
        FunctionCallOutput(call_id="call_1", name="get_weather", output="Sunny", is_error=False)
    )
    llm = _llm(srv)
    await llm.chat(chat_ctx=ctx, tools=[get_weather], conn_options=FAST).collect()
    messages = srv.chat_requests[-1].json["messages"]
    assert messages[-2]["role"] == "assistant"
    assert messages[-2]["tool_calls"][0]["id"] == "call_1"
    assert messages[-1] == {"role": "tool", "tool_call_id": "call_1", "content": "Sunny"}
    srv.assert_no_violations()
    await llm.aclose()


async def test_think_block_of_reasoning_models_is_not_spoken(srv: FakeOpenAI) -> None:
    srv.script_chat("<think> The user greets me. </think> Hello there!")
    llm = _llm(srv)
    response = await llm.chat(chat_ctx=_ctx(), conn_options=FAST).collect()
    assert response.text == "Hello there!"
    await llm.aclose()


# -- faults --------------------------------------------------------------------------------


async def test_401_is_not_retried_and_does_not_leak_the_key(srv: FakeOpenAI) -> None:
    secret = "sk-wrong-secret-key-123456"
    llm = openai.LLM(model="gpt-4o-mini", base_url=srv.base_url, api_key=secret)
    errors: list[LLMError] = []
    llm.on("error", errors.append)
    with pytest.raises(APIStatusError) as info:
        await llm.chat(chat_ctx=_ctx(), conn_options=FAST).collect()
    err = info.value
    assert err.status_code == 401
    assert err.retryable is False
    assert "rejected the API key" in str(err)
    assert "OPENAI_API_KEY" in str(err)
    assert secret not in str(err) and secret not in repr(err.body)
    assert len(srv.chat_requests) == 1
    assert [e.recoverable for e in errors] == [False]
    await llm.aclose()


async def test_403_is_not_retried(srv: FakeOpenAI) -> None:
    srv.fail_next(403)
    llm = _llm(srv)
    with pytest.raises(APIStatusError) as info:
        await llm.chat(chat_ctx=_ctx(), conn_options=FAST).collect()
    assert info.value.status_code == 403 and info.value.retryable is False
    assert "API key" in str(info.value) and "OPENAI_API_KEY" in str(info.value)
    assert len(srv.chat_requests) == 1
    await llm.aclose()


async def test_keys_never_reach_the_logs(srv: FakeOpenAI, caplog: pytest.LogCaptureFixture) -> None:
    """LLM, STT and TTS at DEBUG level, through retries and a rejected key."""
    caplog.set_level(logging.DEBUG)
    key, wrong = srv.api_key or "", "sk-wrong-secret-key-123456"
    llm = _llm(srv)
    srv.fail_next(500)
    await llm.chat(chat_ctx=_ctx(), conn_options=FAST).collect()
    stt = openai.STT(base_url=srv.base_url, api_key=key)
    srv.fail_next(500)
    await stt.recognize([rtc.AudioFrame(bytes(3200), 16000, 1, 1600)], conn_options=FAST)
    tts = openai.TTS(base_url=srv.base_url, api_key=key)
    srv.fail_next(500)
    await tts.synthesize("Hello.", conn_options=FAST).collect()
    bad = openai.LLM(base_url=srv.base_url, api_key=wrong)
    with pytest.raises(APIStatusError):
        await bad.chat(chat_ctx=_ctx(), conn_options=FAST).collect()
    for closable in (llm, stt, tts, bad):
        await closable.aclose()
    assert "retrying" in caplog.text  # the retries were logged...
    assert key not in caplog.text and wrong not in caplog.text  # ...without a key


async def test_429_is_retried_honouring_retry_after(
    srv: FakeOpenAI, retry_sleeps: list[float]
) -> None:
    srv.fail_next(429, retry_after=1)
    srv.script_chat("Recovered.")
    llm = _llm(srv)
    errors: list[LLMError] = []
    llm.on("error", errors.append)
    response = await llm.chat(chat_ctx=_ctx(), conn_options=FAST).collect()
    assert response.text == "Recovered."
    assert len(srv.chat_requests) == 2  # the SDK did not retry on its own
    assert retry_sleeps == [1.0]
    assert len(errors) == 1 and errors[0].recoverable
    assert isinstance(errors[0].error, APIStatusError)
    assert errors[0].error.status_code == 429 and errors[0].error.retry_after == 1.0
    await llm.aclose()


async def test_429_with_retry_after_beyond_the_timeout_fails_fast(srv: FakeOpenAI) -> None:
    srv.fail_next(429, retry_after=60)
    llm = _llm(srv)
    with pytest.raises(APIStatusError) as info:
        await llm.chat(chat_ctx=_ctx(), conn_options=FAST).collect()
    assert info.value.status_code == 429 and info.value.retry_after == 60
    assert len(srv.chat_requests) == 1
    await llm.aclose()


async def test_500_is_retried_then_succeeds(srv: FakeOpenAI) -> None:
    srv.fail_next(500, times=2)
    srv.script_chat("Third time lucky.")
    llm = _llm(srv)
    response = await llm.chat(chat_ctx=_ctx(), conn_options=FAST).collect()
    assert response.text == "Third time lucky."
    assert [r.status for r in srv.chat_requests] == [500, 500, 200]
    await llm.aclose()


async def test_500_gives_up_after_max_retry(srv: FakeOpenAI) -> None:
    srv.fail_next(500, times=5)
    llm = _llm(srv)
    with pytest.raises(APIStatusError) as info:
        await llm.chat(
            chat_ctx=_ctx(),
            conn_options=APIConnectOptions(max_retry=1, retry_interval=0.01, timeout=5),
        ).collect()
    assert info.value.status_code == 500 and info.value.retryable
    assert len(srv.chat_requests) == 2
    await llm.aclose()


async def test_disconnect_after_output_is_an_error_and_not_retried(srv: FakeOpenAI) -> None:
    srv.script_chat("One two three four five six.")
    srv.disconnect_next(after=3)
    llm = _llm(srv)
    received: list[str] = []
    with pytest.raises(APIConnectionError):
        async with llm.chat(chat_ctx=_ctx(), conn_options=FAST) as stream:
            async for chunk in stream:
                if chunk.delta and chunk.delta.content:
                    received.append(chunk.delta.content)
    assert "".join(received) == "One two "
    assert len(srv.chat_requests) == 1
    await llm.aclose()


async def test_disconnect_before_output_is_retried(srv: FakeOpenAI) -> None:
    srv.disconnect_next(after=0)
    srv.script_chat("Back again.")
    llm = _llm(srv)
    response = await llm.chat(chat_ctx=_ctx(), conn_options=FAST).collect()
    assert response.text == "Back again."
    assert len(srv.chat_requests) == 2
    await llm.aclose()


async def test_stall_times_out(srv: FakeOpenAI) -> None:
    srv.stall_next(after=2)
    llm = _llm(srv)
    with pytest.raises(APITimeoutError):
        await llm.chat(
            chat_ctx=_ctx(), conn_options=APIConnectOptions(max_retry=0, timeout=0.3)
        ).collect()
    await llm.aclose()


async def test_stall_before_output_is_retried(srv: FakeOpenAI) -> None:
    srv.stall_next(after=0)
    srv.script_chat("Awake now.")
    llm = _llm(srv)
    response = await llm.chat(
        chat_ctx=_ctx(),
        conn_options=APIConnectOptions(max_retry=1, retry_interval=0.01, timeout=0.3),
    ).collect()
    assert response.text == "Awake now."
    await llm.aclose()


async def test_unknown_model_is_a_clear_non_retryable_error(srv: FakeOpenAI) -> None:
    srv.fail_next(
        404, message="The model `gpt-nope` does not exist or you do not have access to it."
    )
    llm = _llm(srv)
    with pytest.raises(APIStatusError) as info:
        await llm.chat(chat_ctx=_ctx(), conn_options=FAST).collect()
    assert info.value.status_code == 404 and not info.value.retryable
    assert "gpt-nope" in str(info.value)
    await llm.aclose()


# -- construction, keys, strings -----------------------------------------------------------


def test_missing_key_names_the_variable() -> None:
    with pytest.raises(MissingCredentialsError) as info:
        openai.LLM(model="gpt-4o-mini")
    assert "OPENAI_API_KEY" in str(info.value)
    assert info.value.env_var == "OPENAI_API_KEY"


def test_bad_options_are_rejected() -> None:
    with pytest.raises(ValueError, match="model"):
        openai.LLM(model="", api_key="k")
    with pytest.raises(ValueError, match="timeout"):
        openai.LLM(api_key="k", timeout=0)


async def test_compatible_server_needs_no_key() -> None:
    async with FakeOpenAI(api_key=None) as srv:
        llm = openai.LLM(model="llama3.2", base_url=srv.base_url)
        assert llm.provider == srv.base_url.split("//")[1].split("/")[0]
        response = await llm.chat(chat_ctx=_ctx(), conn_options=FAST).collect()
        assert response.text == srv.default_reply
        assert srv.chat_requests[-1].headers["Authorization"].startswith("Bearer ")
        await llm.aclose()


async def test_with_ollama(srv: FakeOpenAI) -> None:
    srv.api_key = "ollama"
    llm = openai.LLM.with_ollama(model="qwen3:0.6b", base_url=srv.base_url)
    assert llm.model == "qwen3:0.6b"
    await llm.chat(chat_ctx=_ctx(), conn_options=FAST).collect()
    assert srv.chat_requests[-1].json["model"] == "qwen3:0.6b"
    await llm.aclose()


async def test_resolve_by_string_with_options(srv: FakeOpenAI) -> None:
    from livekit.agents import registry

    llm = registry.resolve("llm", "openai/gpt-4o-mini", api_key=srv.api_key, base_url=srv.base_url)
    assert isinstance(llm, openai.LLM)
    assert llm.model == "gpt-4o-mini"
    await llm.chat(chat_ctx=_ctx(), conn_options=FAST).collect()
    assert srv.chat_requests[-1].json["model"] == "gpt-4o-mini"
    await llm.aclose()


async def test_ollama_tag_is_joined_back(srv: FakeOpenAI) -> None:
    from livekit.agents import registry

    llm = registry.resolve("llm", "openai/llama3.2:3b", base_url=srv.base_url, api_key=srv.api_key)
    assert llm.model == "llama3.2:3b"
    await llm.chat(chat_ctx=_ctx(), conn_options=FAST).collect()
    assert srv.chat_requests[-1].json["model"] == "llama3.2:3b"
    await llm.aclose()


async def test_env_vars_are_honoured_for_strings(
    srv: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    from livekit.agents import registry

    monkeypatch.setenv("OPENAI_BASE_URL", srv.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", srv.api_key or "")
    llm = registry.resolve("llm", "openai/gpt-4o")
    await llm.chat(chat_ctx=_ctx(), conn_options=FAST).collect()
    assert srv.chat_requests[-1].json["model"] == "gpt-4o"
    await llm.aclose()


def test_string_without_key_fails_at_resolution() -> None:
    from livekit.agents import registry

    with pytest.raises(MissingCredentialsError, match="OPENAI_API_KEY"):
        registry.resolve("llm", "openai/gpt-4o-mini")


async def test_extra_body_and_per_llm_timeout(srv: FakeOpenAI) -> None:
    llm = _llm(srv, extra_body={"options": {"num_ctx": 4096}}, timeout=0.3)
    await llm.chat(chat_ctx=_ctx(), conn_options=FAST, extra_kwargs={"seed": 7}).collect()
    body = srv.chat_requests[-1].json
    assert body["options"] == {"num_ctx": 4096} and body["seed"] == 7
    # the LLM's own timeout wins over the (longer) one of the connection options
    srv.stall_next(after=1)
    with pytest.raises(APITimeoutError):
        await llm.chat(
            chat_ctx=_ctx(), conn_options=APIConnectOptions(max_retry=0, timeout=30)
        ).collect()
    await llm.aclose()


async def test_prewarm_opens_a_connection(srv: FakeOpenAI) -> None:
    llm = _llm(srv)
    llm.prewarm()
    assert llm._prewarm_task is not None
    await llm._prewarm_task
    assert [r.path for r in srv.requests] == ["/v1/models"]
    await llm.aclose()
