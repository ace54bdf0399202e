"""The voice session: agents, sessions, events, speech handles and run results."""

from . import room_io
from .agent import Agent, ModelSettings
from .agent_session import AgentSession, AgentSessionOptions, SessionConnectOptions
from .agent_task import AgentTask
from .background_audio import AudioConfig, BackgroundAudioPlayer, BuiltinAudioClip, PlayHandle
from .events import (
    AgentEvent,
    AgentFalseInterruptionEvent,
    AgentSpeechEndedEvent,
    AgentSpeechStartedEvent,
    AgentState,
    AgentStateChangedEvent,
    CloseEvent,
    CloseReason,
    ConversationItemAddedEvent,
    ErrorEvent,
    FunctionToolsExecutedEvent,
    MetricsCollectedEvent,
    SpeechCreatedEvent,
    UserInputTranscribedEvent,
    UserSpeechEndedEvent,
    UserSpeechStartedEvent,
    UserState,
    UserStateChangedEvent,
)
from .io import AudioInput, AudioOutput, QueueAudioInput, SimulatedAudioOutput, TextOutput
from .room_io import RoomInputOptions, RoomIO, RoomOptions, RoomOutputOptions
from .run_context import RunContext
from .run_result import (
    AgentHandoffEvent,
    ChatMessageEvent,
    EventAssert,
    EventRangeAssert,
    FunctionCallEvent,
    FunctionCallOutputEvent,
    RunAssert,
    RunEvent,
    RunResult,
)
from .speech_handle import SpeechHandle

__all__ = [
    "Agent",
    "AgentEvent",
    "AgentFalseInterruptionEvent",
    "AgentHandoffEvent",
    "AgentSession",
    "AgentSessionOptions",
    "AgentSpeechEndedEvent",
    "AgentSpeechStartedEvent",
    "AgentState",
    "AgentStateChangedEvent",
    "AgentTask",
    "AudioConfig",
    "AudioInput",
    "AudioOutput",
    "BackgroundAudioPlayer",
    "BuiltinAudioClip",
    "ChatMessageEvent",
    "CloseEvent",
    "CloseReason",
    "ConversationItemAddedEvent",
    "ErrorEvent",
    "EventAssert",
    "EventRangeAssert",
    "FunctionCallEvent",
    "FunctionCallOutputEvent",
    "FunctionToolsExecutedEvent",
    "MetricsCollectedEvent",
    "ModelSettings",
    "PlayHandle",
    "QueueAudioInput",
    "RoomIO",
    "RoomInputOptions",
    "RoomOptions",
    "RoomOutputOptions",
    "RunAssert",
    "RunContext",
    "RunEvent",
    "RunResult",
    "SessionConnectOptions",
    "SimulatedAudioOutput",
    "SpeechCreatedEvent",
    "SpeechHandle",
    "TextOutput",
    "UserInputTranscribedEvent",
    "UserSpeechEndedEvent",
    "UserSpeechStartedEvent",
    "UserState",
    "UserStateChangedEvent",
    "room_io",
]
