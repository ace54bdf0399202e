"""Testing tools: fake providers, ``AgentTest``, run assertions and ``mock_tools``.

The fakes register as the provider ``fake`` (``llm="fake/scripted"``, ``stt="fake"``,
``tts="fake"``, ``vad="fake"``, ``turn_detection="fake"``), so they go through the same
entry-point resolution as real plugins.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..voice.run_result import (
        AgentHandoffEvent,
        ChatMessageEvent,
        FunctionCallEvent,
        FunctionCallOutputEvent,
        RunResult,
    )
    from ._mock_tools import mock_tools
    from .agent_test import AgentTest
    from .fake_avatar import FakeAvatar
    from .fake_llm import FakeLLM, FakeResponse, FakeToolCall
    from .fake_stt import FakeSTT, FakeTranscript
    from .fake_tts import FakeTTS
    from .fake_turn_detector import FakeTurnDetector
    from .fake_vad import FakeVAD

__all__ = [
    "AgentHandoffEvent",
    "AgentTest",
    "ChatMessageEvent",
    "FakeAvatar",
    "FakeLLM",
    "FakeResponse",
    "FakeSTT",
    "FakeTTS",
    "FakeToolCall",
    "FakeTranscript",
    "FakeTurnDetector",
    "FakeVAD",
    "FunctionCallEvent",
    "FunctionCallOutputEvent",
    "RunResult",
    "mock_tools",
]

_LAZY = {
    "AgentTest": ".agent_test",
    "FakeAvatar": ".fake_avatar",
    "FakeLLM": ".fake_llm",
    "FakeResponse": ".fake_llm",
    "FakeToolCall": ".fake_llm",
    "FakeSTT": ".fake_stt",
    "FakeTranscript": ".fake_stt",
    "FakeTTS": ".fake_tts",
    "FakeTurnDetector": ".fake_turn_detector",
    "FakeVAD": ".fake_vad",
    "mock_tools": "._mock_tools",
    "RunResult": "..voice.run_result",
    "AgentHandoffEvent": "..voice.run_result",
    "ChatMessageEvent": "..voice.run_result",
    "FunctionCallEvent": "..voice.run_result",
    "FunctionCallOutputEvent": "..voice.run_result",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
