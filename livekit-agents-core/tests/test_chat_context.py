"""ChatContext: ordering, copies, truncation, serialization and provider formats."""

from __future__ import annotations

import json

import pytest

from livekit.agents import ChatContext, ChatMessage, FunctionCall, FunctionCallOutput
from livekit.agents.llm import AgentHandoff, ImageContent


def _conversation() -> ChatContext:
    ctx = ChatContext.empty()
    ctx.add_message(role="system", content="Be brief.", created_at=1.0)
    ctx.add_message(role="user", content="Weather in Paris?", created_at=2.0)
    ctx.insert(FunctionCall(call_id="c1", name="weather", arguments='{"city": "Paris"}', created_at=3.0))
    ctx.insert(FunctionCallOutput(call_id="c1", name="weather", output="sunny", is_error=False, created_at=4.0))
    ctx.add_message(role="assistant", content="Sunny.", created_at=5.0)
    return ctx


def test_insert_keeps_time_order() -> None:
    ctx = _conversation()
    late = ChatMessage(role="user", content=["in between"], created_at=2.5)
    ctx.insert(late)
    assert [i.created_at for i in ctx.items] == [1.0, 2.0, 2.5, 3.0, 4.0, 5.0]


def test_invalid_role_is_rejected() -> None:
    with pytest.raises(ValueError, match="invalid chat role 'bot'"):
        ChatMessage(role="bot", content=["x"])  # type: ignore[arg-type]


def test_copy_filters() -> None:
    ctx = _conversation()
    assert len(ctx.copy(exclude_function_call=True).items) == 3
    assert [m.role for m in ctx.copy(exclude_instructions=True).messages()] == ["user", "assistant"]
    ctx.insert(AgentHandoff(new_agent_id="b", old_agent_id="a", created_at=6.0))
    assert all(i.type != "agent_handoff" for i in ctx.copy(exclude_handoff=True).items)
    copy = ctx.copy()
    copy.add_message(role="user", content="more")
    assert len(copy.items) == len(ctx.items) + 1  # copies are independent


def test_truncate_keeps_instructions_and_never_starts_with_tool_output() -> None:
    from livekit.agents.llm.chat_context import INSTRUCTIONS_ID

    ctx = _conversation()
    ctx.items[0].id = INSTRUCTIONS_ID
    ctx.truncate(max_items=2)
    assert ctx.items[0].id == INSTRUCTIONS_ID
    assert all(i.type != "function_call_output" for i in ctx.items[:2])
    with pytest.raises(ValueError):
        ctx.truncate(max_items=0)


def test_dict_round_trip() -> None:
    ctx = _conversation()
    data = json.loads(json.dumps(ctx.to_dict()))
    back = ChatContext.from_dict(data)
    assert back.is_equivalent(ctx)
    with pytest.raises(ValueError, match="unknown chat item type"):
        ChatContext.from_dict({"items": [{"type": "mystery"}]})


def test_openai_format() -> None:
    messages, extra = _conversation().to_provider_format("openai")
    assert extra == {}
    assert messages[0] == {"role": "system", "content": "Be brief."}
    assert messages[2]["role"] == "assistant" and messages[2]["content"] is None
    assert messages[2]["tool_calls"][0]["function"] == {"name": "weather", "arguments": '{"city": "Paris"}'}
    assert messages[3] == {"role": "tool", "tool_call_id": "c1", "content": "sunny"}
    assert messages[4] == {"role": "assistant", "content": "Sunny."}


def test_openai_format_with_images() -> None:
    ctx = ChatContext.empty()
    ctx.add_message(role="user", content=["What is this?", ImageContent(image="https://x/y.png")])
    messages, _ = ctx.to_provider_format("openai")
    assert messages[0]["content"][1] == {"type": "image_url", "image_url": {"url": "https://x/y.png", "detail": "auto"}}


def test_anthropic_format() -> None:
    messages, extra = _conversation().to_provider_format("anthropic")
    assert extra == {"system": "Be brief."}
    assert [m["role"] for m in messages] == ["user", "assistant", "user", "assistant"]
    assert messages[1]["content"][0] == {"type": "tool_use", "id": "c1", "name": "weather", "input": {"city": "Paris"}}
    assert messages[2]["content"][0]["type"] == "tool_result" and messages[2]["content"][0]["content"] == "sunny"


def test_anthropic_format_starts_with_a_user_turn() -> None:
    ctx = ChatContext.empty()
    ctx.add_message(role="assistant", content="Hello, how can I help?")
    messages, _ = ctx.to_provider_format("anthropic")
    assert messages[0]["role"] == "user"
    with pytest.raises(ValueError, match="unsupported provider format"):
        ctx.to_provider_format("cohere")  # type: ignore[arg-type]
