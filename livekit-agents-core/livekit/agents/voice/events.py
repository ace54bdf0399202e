"""Events emitted by :class:`AgentSession` (``@session.on("...")``)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any, Literal, TypeAlias, Union

if TYPE_CHECKING:
    from ..llm import AgentHandoff, ChatMessage, FunctionCall, FunctionCallOutput
    from ..metrics import AgentMetrics
    from .speech_handle import SpeechHandle

__all__ = [
    "AgentEvent",
    "AgentFalseInterruptionEvent",
    "AgentSpeechEndedEvent",
    "AgentSpeechStartedEvent",
    "AgentState",
    "AgentStateChangedEvent",
    "CloseEvent",
    "CloseReason",
    "ConversationItemAddedEvent",
    "ErrorEvent",
    "EventTypes",
    "FunctionToolsExecutedEvent",
    "MetricsCollectedEvent",
    "SpeechCreatedEvent",
    "UserInputTranscribedEvent",
    "UserSpeechEndedEvent",
    "UserSpeechStartedEvent",
    "UserState",
    "UserStateChangedEvent",
]

AgentState: TypeAlias = Literal["initializing", "idle", "listening", "thinking", "speaking"]
UserState: TypeAlias = Literal["speaking", "listening", "away"]

EventTypes: TypeAlias = Literal[
    "user_state_changed",
    "agent_state_changed",
    "user_speech_started",
    "user_speech_ended",
    "agent_speech_started",
    "agent_speech_ended",
    "user_input_transcribed",
    "conversation_item_added",
    "agent_false_interruption",
    "function_tools_executed",
    "metrics_collected",
    "speech_created",
    "error",
    "close",
]


class CloseReason(str, Enum):
    ERROR = "error"
    JOB_SHUTDOWN = "job_shutdown"
    PARTICIPANT_DISCONNECTED = "participant_disconnected"
    USER_INITIATED = "user_initiated"
    TASK_COMPLETED = "task_completed"


@dataclass
class _Event:
    def to_dict(self) -> dict[str, Any]:
        from dataclasses import asdict, fields

        out = {}
        for f in fields(self):
            if f.name.startswith("_"):
                continue
            v = getattr(self, f.name)
            try:
                out[f.name] = asdict(v) if hasattr(v, "__dataclass_fields__") else v
            except TypeError:
                out[f.name] = repr(v)
        return out


@dataclass
class UserStateChangedEvent(_Event):
    old_state: UserState
    new_state: UserState
    created_at: float = field(default_factory=time.time)
    type: Literal["user_state_changed"] = "user_state_changed"


@dataclass
class AgentStateChangedEvent(_Event):
    old_state: AgentState
    new_state: AgentState
    created_at: float = field(default_factory=time.time)
    type: Literal["agent_state_changed"] = "agent_state_changed"


@dataclass
class UserSpeechStartedEvent(_Event):
    """The user started speaking (VAD, or the STT in ``turn_detection="stt"`` mode)."""

    created_at: float = field(default_factory=time.time)
    type: Literal["user_speech_started"] = "user_speech_started"


@dataclass
class UserSpeechEndedEvent(_Event):
    """The user's turn ended; ``transcript`` is everything they said in it."""

    transcript: str
    created_at: float = field(default_factory=time.time)
    type: Literal["user_speech_ended"] = "user_speech_ended"

    def __str__(self) -> str:
        return self.transcript


@dataclass
class AgentSpeechStartedEvent(_Event):
    """The first audio (or, without audio, the first text) of an agent reply went out."""

    speech_id: str
    created_at: float = field(default_factory=time.time)
    type: Literal["agent_speech_started"] = "agent_speech_started"


@dataclass
class AgentSpeechEndedEvent(_Event):
    """An agent reply finished playing, or was interrupted; ``text`` is what the user heard."""

    speech_id: str
    text: str
    interrupted: bool
    created_at: float = field(default_factory=time.time)
    type: Literal["agent_speech_ended"] = "agent_speech_ended"


@dataclass
class UserInputTranscribedEvent(_Event):
    transcript: str
    is_final: bool
    language: str | None = None
    speaker_id: str | None = None
    created_at: float = field(default_factory=time.time)
    type: Literal["user_input_transcribed"] = "user_input_transcribed"


@dataclass
class ConversationItemAddedEvent(_Event):
    item: Union[ChatMessage, AgentHandoff]
    created_at: float = field(default_factory=time.time)
    type: Literal["conversation_item_added"] = "conversation_item_added"


@dataclass
class AgentFalseInterruptionEvent(_Event):
    """The user made a sound that paused the agent but said nothing; ``resumed`` tells the outcome."""

    resumed: bool
    created_at: float = field(default_factory=time.time)
    type: Literal["agent_false_interruption"] = "agent_false_interruption"


@dataclass
class FunctionToolsExecutedEvent(_Event):
    function_calls: list[FunctionCall]
    function_call_outputs: list[FunctionCallOutput]
    created_at: float = field(default_factory=time.time)
    type: Literal["function_tools_executed"] = "function_tools_executed"
    _reply_cancelled: bool = False

    def zipped(self) -> list[tuple[FunctionCall, FunctionCallOutput]]:
        return list(zip(self.function_calls, self.function_call_outputs, strict=False))

    def cancel_tool_reply(self) -> None:
        """Skip the LLM reply that would follow these tool results."""
        self._reply_cancelled = True


@dataclass
class MetricsCollectedEvent(_Event):
    metrics: AgentMetrics
    created_at: float = field(default_factory=time.time)
    type: Literal["metrics_collected"] = "metrics_collected"


@dataclass
class SpeechCreatedEvent(_Event):
    user_initiated: bool
    source: Literal["say", "generate_reply", "tool_response"]
    speech_handle: SpeechHandle = field(repr=False)
    created_at: float = field(default_factory=time.time)
    type: Literal["speech_created"] = "speech_created"


@dataclass
class ErrorEvent(_Event):
    """A provider failed. ``error`` has ``recoverable``; ``source`` is the provider object."""

    error: Any
    source: Any
    created_at: float = field(default_factory=time.time)
    type: Literal["error"] = "error"


@dataclass
class CloseEvent(_Event):
    reason: CloseReason
    error: Any = None
    created_at: float = field(default_factory=time.time)
    type: Literal["close"] = "close"


AgentEvent: TypeAlias = Union[
    UserStateChangedEvent,
    AgentStateChangedEvent,
    UserSpeechStartedEvent,
    UserSpeechEndedEvent,
    AgentSpeechStartedEvent,
    AgentSpeechEndedEvent,
    UserInputTranscribedEvent,
    ConversationItemAddedEvent,
    AgentFalseInterruptionEvent,
    FunctionToolsExecutedEvent,
    MetricsCollectedEvent,
    SpeechCreatedEvent,
    ErrorEvent,
    CloseEvent,
]
