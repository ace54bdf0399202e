"""LiveKit Agents: a framework for realtime voice AI agents.

Heavy submodules load lazily: ``import livekit.agents`` is cheap, and names such as
``Agent`` or ``AgentSession`` import their module on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .version import __version__

if TYPE_CHECKING:
    from . import cli, hooks, llm, metrics, registry, sip, stt, tokenize, tts, utils, vad, voice
    from ._exceptions import (
        APIConnectionError,
        APIError,
        APIStatusError,
        APITimeoutError,
        AssignmentTimeoutError,
        MissingCredentialsError,
        create_api_error_from_http,
    )
    from .llm import (
        AgentHandoff,
        ChatContent,
        ChatContext,
        ChatItem,
        ChatMessage,
        ChatRole,
        FunctionCall,
        FunctionCallOutput,
        FunctionTool,
        ImageContent,
        StopResponse,
        ToolContext,
        ToolError,
        ToolFlag,
        Toolset,
        function_tool,
    )
    from .testing._mock_tools import mock_tools
    from .types import (
        DEFAULT_API_CONNECT_OPTIONS,
        NOT_GIVEN,
        APIConnectOptions,
        NotGiven,
        NotGivenOr,
    )
    from .voice import (
        Agent,
        AgentEvent,
        AgentFalseInterruptionEvent,
        AgentHandoffEvent,
        AgentSession,
        AgentState,
        AgentStateChangedEvent,
        AgentTask,
        ChatMessageEvent,
        CloseEvent,
        CloseReason,
        ConversationItemAddedEvent,
        ErrorEvent,
        FunctionCallEvent,
        FunctionCallOutputEvent,
        FunctionToolsExecutedEvent,
        MetricsCollectedEvent,
        ModelSettings,
        RoomInputOptions,
        RoomIO,
        RoomOptions,
        RoomOutputOptions,
        RunContext,
        RunResult,
        SessionConnectOptions,
        SpeechCreatedEvent,
        SpeechHandle,
        UserInputTranscribedEvent,
        UserState,
        UserStateChangedEvent,
        room_io,
    )
    from .voice.background_audio import (
        AudioConfig,
        BackgroundAudioPlayer,
        BuiltinAudioClip,
        PlayHandle,
    )
    from .worker import (
        AgentServer,
        AutoSubscribe,
        JobContext,
        JobExecutorType,
        JobProcess,
        JobRequest,
        WorkerOptions,
        WorkerPermissions,
        WorkerType,
        get_job_context,
    )

_SUBMODULES = {
    "cli", "hooks", "llm", "mcp", "metrics", "registry", "sip", "stt", "testing", "tokenize", "tts",
    "utils", "vad", "voice", "worker",
}

_LAZY: dict[str, str] = {
    **dict.fromkeys(
        [
            "APIConnectionError", "APIError", "APIStatusError", "APITimeoutError",
            "AssignmentTimeoutError", "MissingCredentialsError", "create_api_error_from_http",
        ],
        "._exceptions",
    ),
    **dict.fromkeys(
        ["DEFAULT_API_CONNECT_OPTIONS", "NOT_GIVEN", "APIConnectOptions", "NotGiven", "NotGivenOr"],
        ".types",
    ),
    **dict.fromkeys(
        [
            "AgentHandoff", "ChatContent", "ChatContext", "ChatItem", "ChatMessage", "ChatRole",
            "FunctionCall", "FunctionCallOutput", "FunctionTool", "ImageContent", "StopResponse",
            "ToolContext", "ToolError", "ToolFlag", "Toolset", "function_tool",
        ],
        ".llm",
    ),
    **dict.fromkeys(
        [
            "Agent", "AgentEvent", "AgentFalseInterruptionEvent", "AgentHandoffEvent", "AgentSession",
            "AgentState", "AgentStateChangedEvent", "AgentTask", "ChatMessageEvent", "CloseEvent", "CloseReason",
            "ConversationItemAddedEvent", "ErrorEvent", "FunctionCallEvent", "FunctionCallOutputEvent",
            "FunctionToolsExecutedEvent", "MetricsCollectedEvent", "ModelSettings", "RoomIO",
            "RoomInputOptions", "RoomOptions", "RoomOutputOptions", "RunContext", "RunResult", "SessionConnectOptions", "SpeechCreatedEvent", "SpeechHandle",
            "UserInputTranscribedEvent", "UserState", "UserStateChangedEvent",
        ],
        ".voice",
    ),
    **dict.fromkeys(
        [
            "AgentServer", "AutoSubscribe", "JobContext", "JobExecutorType", "JobProcess",
            "JobRequest", "WorkerOptions", "WorkerPermissions", "WorkerType", "get_job_context",
        ],
        ".worker",
    ),
    **dict.fromkeys(
        ["AudioConfig", "BackgroundAudioPlayer", "BuiltinAudioClip", "PlayHandle"],
        ".voice.background_audio",
    ),
    "mock_tools": ".testing._mock_tools",
    "room_io": ".voice",
}

__all__ = sorted({"__version__", *_SUBMODULES, *_LAZY})


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        module = importlib.import_module(f".{name}", __name__)
        globals()[name] = module
        return module
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(target, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
