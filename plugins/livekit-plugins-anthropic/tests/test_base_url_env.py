"""``ANTHROPIC_BASE_URL``: what provider strings use to reach another server, and its errors."""

from __future__ import annotations

import pytest
from fake_servers.anthropic import FakeAnthropic

from livekit.agents import APIConnectOptions, ChatContext, registry
from livekit.plugins import anthropic

FAST = APIConnectOptions(max_retry=0, timeout=5.0)
SECRET = "sk-ant-this-key-must-not-leak-0123"


def _ctx() -> ChatContext:
    ctx = ChatContext.empty()
    ctx.add_message(role="user", content="Hello!")
    return ctx


async def test_string_reaches_the_server_of_the_variable(
    srv: FakeAnthropic, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", srv.api_key)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", srv.base_url + "/")
    llm = registry.resolve("llm", "anthropic/claude-3-7-sonnet")
    response = await llm.chat(chat_ctx=_ctx(), conn_options=FAST).collect()
    assert response.text == srv.default_reply
    assert srv.message_requests[-1].json["model"] == "claude-3-7-sonnet-20250219"
    await llm.aclose()


async def test_the_argument_wins_over_the_variable(
    srv: FakeAnthropic, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "not a url")  # not even read
    llm = registry.resolve("llm", "anthropic", api_key=srv.api_key, base_url=srv.base_url)
    await llm.chat(chat_ctx=_ctx(), conn_options=FAST).collect()
    assert len(srv.message_requests) == 1
    await llm.aclose()


def test_blank_variable_means_anthropic(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "")
    assert anthropic.LLM(api_key="k")._config.base_url == "https://api.anthropic.com"


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (SECRET, "does not start with http:// or https://"),
        ("api.anthropic.com", "does not start with http:// or https://"),
        ("https://", "has no host"),
        (f"https://127.0.0.1:{SECRET}", "port is not a number"),
    ],
)
def test_bad_variable_is_named_without_its_value(
    monkeypatch: pytest.MonkeyPatch, value: str, problem: str
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", SECRET)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", value)
    with pytest.raises(ValueError, match="ANTHROPIC_BASE_URL") as info:
        registry.resolve("llm", "anthropic/claude-sonnet-4-6")
    assert problem in str(info.value)
    assert SECRET not in str(info.value) and SECRET not in repr(info.value)


def test_bad_argument_is_named_too() -> None:
    with pytest.raises(ValueError, match="base_url must be an http") as info:
        anthropic.LLM(api_key=SECRET, base_url="ws://api.anthropic.com")
    assert "ANTHROPIC_BASE_URL" not in str(info.value)
