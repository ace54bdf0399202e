"""``AgentSession``: runs agents against inputs and outputs, and tells the world what happens."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterable, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from .. import registry
from ..llm import ChatContext, ChatMessage, FunctionCall, FunctionCallOutput
from ..llm.chat_context import AgentHandoff
from ..log import logger
from ..types import DEFAULT_API_CONNECT_OPTIONS, NOT_GIVEN, APIConnectOptions, NotGivenOr, is_given
from ..utils.event_emitter import EventEmitter
from .events import (
    AgentState,
    AgentStateChangedEvent,
    CloseEvent,
    CloseReason,
    ConversationItemAddedEvent,
    ErrorEvent,
    EventTypes,
    MetricsCollectedEvent,
    SpeechCreatedEvent,
    UserSpeechStartedEvent,
    UserState,
    UserStateChangedEvent,
)
from .io import AudioInput, AudioOutput, TextOutput
from .speech_handle import _current_tool_call, _ToolCallScope
from .text_transforms import TextTransform, check_transforms
from .turn_detection import TurnDetectionMode, resolve_turn_detection

if TYPE_CHECKING:
    from ..llm import LLM, ToolChoice
    from ..stt import STT
    from ..tts import TTS
    from ..vad import VAD
    from .activity import AgentActivity
    from .agent import Agent
    from .room_options import RoomInputOptions, RoomOptions, RoomOutputOptions
    from .run_result import RunResult
    from .speech_handle import SpeechHandle

__all__ = ["AgentSession", "AgentSessionOptions", "SessionConnectOptions"]

Userdata_T = TypeVar("Userdata_T")

DEFAULT_BACKCHANNEL_WORDS: frozenset[str] = frozenset()


@dataclass(frozen=True)
class SessionConnectOptions:
    """Retry options per provider kind, and how many unrecoverable errors end the session."""

    stt: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS
    llm: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS
    tts: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS
    max_unrecoverable_errors: int = 3


@dataclass
class AgentSessionOptions:
    allow_interruptions: bool
    min_interruption_duration: float
    min_interruption_words: int
    min_endpointing_delay: float
    max_endpointing_delay: float
    false_interruption_timeout: float | None
    resume_false_interruption: bool
    backchannel_words: frozenset[str]
    preemptive_generation: bool
    max_tool_steps: int
    user_away_timeout: float | None
    tts_text_transforms: list[TextTransform] = field(default_factory=list)


class AgentInput:
    """``session.input``: where user audio comes from."""

    def __init__(self, session: AgentSession[Any]) -> None:
        self._session = session
        self._audio: AudioInput | None = None

    @property
    def audio(self) -> AudioInput | None:
        return self._audio

    @audio.setter
    def audio(self, value: AudioInput | None) -> None:
        if self._audio is not None:
            self._audio.on_detached()
        self._audio = value
        self._session._on_audio_input_changed()


class AgentOutput:
    """``session.output``: where agent audio and transcripts go."""

    def __init__(self) -> None:
        self.audio: AudioOutput | None = None
        self.transcription: TextOutput | None = None
        self._audio_enabled = True
        self._transcription_enabled = True

    @property
    def audio_enabled(self) -> bool:
        return self._audio_enabled and self.audio is not None

    @property
    def transcription_enabled(self) -> bool:
        return self._transcription_enabled and self.transcription is not None

    def set_audio_enabled(self, enabled: bool) -> None:
        self._audio_enabled = enabled

    def set_transcription_enabled(self, enabled: bool) -> None:
        self._transcription_enabled = enabled


class AgentSession(EventEmitter[EventTypes], Generic[Userdata_T]):
    """Runs an :class:`Agent` (and the agents it hands off to) with the given providers.

    Provider arguments accept objects or provider strings (``"deepgram/nova-3"``), resolved
    here through the installed plugins, so a typo fails at once. Without a room the session is
    text-only: drive it with :meth:`run`, :meth:`generate_reply` and :meth:`say`.
    """

    def __init__(
        self,
        *,
        stt: NotGivenOr[STT | str | None] = NOT_GIVEN,
        vad: NotGivenOr[VAD | str | None] = NOT_GIVEN,
        llm: NotGivenOr[LLM | str | None] = NOT_GIVEN,
        tts: NotGivenOr[TTS | str | None] = NOT_GIVEN,
        turn_detection: NotGivenOr[TurnDetectionMode | str | None] = NOT_GIVEN,
        avatar: Any = None,
        mcp_servers: Sequence[Any] | None = None,
        tools: Sequence[Any] | None = None,
        allow_interruptions: bool = True,
        min_interruption_duration: float = 0.5,
        min_interruption_words: int = 0,
        min_endpointing_delay: float = 0.5,
        max_endpointing_delay: float = 3.0,
        false_interruption_timeout: float | None = 2.0,
        resume_false_interruption: bool = True,
        backchannel_words: Sequence[str] | None = None,
        preemptive_generation: bool = False,
        max_tool_steps: int = 3,
        user_away_timeout: float | None = 15.0,
        tts_text_transforms: Sequence[TextTransform] | None = ("filter_markdown", "filter_emoji"),
        conn_options: SessionConnectOptions | None = None,
        userdata: NotGivenOr[Userdata_T] = NOT_GIVEN,
    ) -> None:
        super().__init__()
        _check_range("min_interruption_duration", min_interruption_duration, 0.0)
        _check_range("min_endpointing_delay", min_endpointing_delay, 0.0)
        _check_range("max_endpointing_delay", max_endpointing_delay, min_endpointing_delay,
                     "must be >= min_endpointing_delay")
        if min_interruption_words < 0:
            raise ValueError("min_interruption_words must be >= 0")
        if max_tool_steps < 0:
            raise ValueError("max_tool_steps must be >= 0")

        self._stt: STT | None = _resolve("stt", stt)
        self._vad: VAD | None = _resolve("vad", vad)
        self._llm: LLM | None = _resolve("llm", llm)
        self._tts: TTS | None = _resolve("tts", tts)
        self._avatar = registry.resolve("avatar", avatar) if isinstance(avatar, str) else avatar
        self._mcp_servers = [registry.resolve("mcp", s) for s in (mcp_servers or [])]
        self._tools = list(tools or [])
        if is_given(turn_detection):
            self._turn_detection = resolve_turn_detection(turn_detection)
        elif self._vad is not None:
            self._turn_detection = "vad"
        elif self._stt is not None:
            self._turn_detection = "stt"
        else:
            self._turn_detection = "manual"

        self._opts = AgentSessionOptions(
            allow_interruptions=allow_interruptions,
            min_interruption_duration=min_interruption_duration,
            min_interruption_words=min_interruption_words,
            min_endpointing_delay=min_endpointing_delay,
            max_endpointing_delay=max_endpointing_delay,
            false_interruption_timeout=false_interruption_timeout,
            resume_false_interruption=resume_false_interruption,
            backchannel_words=frozenset(w.lower() for w in (backchannel_words or ())),
            preemptive_generation=preemptive_generation,
            max_tool_steps=max_tool_steps,
            user_away_timeout=user_away_timeout,
            tts_text_transforms=check_transforms(tts_text_transforms),
        )
        self._conn_options = conn_options or SessionConnectOptions()
        self._userdata = userdata

        self._input = AgentInput(self)
        self._output = AgentOutput()
        self._history = ChatContext.empty()
        self._activity: AgentActivity | None = None
        self._activity_lock = asyncio.Lock()
        #: activities paused while an AgentTask they await runs (innermost last)
        self._task_callers: list[AgentActivity] = []
        #: speeches and hook tasks waiting on an AgentTask (a run does not wait for them)
        self._suspended: set[Any] = set()
        #: ids of tool calls a run already reported while their tool was still running
        self._calls_reported_early: set[str] = set()
        self._agent: Agent | None = None
        self._agent_state: AgentState = "initializing"
        self._user_state: UserState = "listening"
        self._started = False
        self._closing = False
        self._closed = False
        self._forward_audio_task: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[Any]] = set()
        self._run_result: RunResult | None = None
        self._error_counts = {"llm": 0, "stt": 0, "tts": 0}
        self._away_timer: asyncio.TimerHandle | None = None
        self._room_io: Any = None
        self._session_mocks: dict[Any, Any] = {}

    # -- properties -----------------------------------------------------------------------

    @property
    def options(self) -> AgentSessionOptions:
        return self._opts

    @property
    def conn_options(self) -> SessionConnectOptions:
        return self._conn_options

    @property
    def stt(self) -> STT | None:
        return self._stt

    @property
    def llm(self) -> LLM | None:
        return self._llm

    @property
    def tts(self) -> TTS | None:
        return self._tts

    @property
    def vad(self) -> VAD | None:
        return self._vad

    @property
    def turn_detection(self) -> Any:
        return self._turn_detection

    @property
    def avatar(self) -> Any:
        return self._avatar

    @property
    def tools(self) -> list[Any]:
        """Session-wide tools, available to every agent (and kept across handoffs)."""
        return self._tools

    @property
    def userdata(self) -> Userdata_T:
        if not is_given(self._userdata):
            raise ValueError("the session has no userdata: pass userdata=... to AgentSession")
        return self._userdata

    @userdata.setter
    def userdata(self, value: Userdata_T) -> None:
        self._userdata = value

    @property
    def history(self) -> ChatContext:
        """Everything said and done in the session, across agents."""
        return self._history

    @property
    def current_agent(self) -> Agent:
        if self._agent is None:
            raise RuntimeError("the session has not started")
        return self._agent

    @property
    def current_speech(self) -> SpeechHandle | None:
        return self._activity.current_speech if self._activity else None

    @property
    def agent_state(self) -> AgentState:
        return self._agent_state

    @property
    def user_state(self) -> UserState:
        return self._user_state

    @property
    def input(self) -> AgentInput:
        return self._input

    @property
    def output(self) -> AgentOutput:
        return self._output

    @property
    def room_io(self) -> Any:
        return self._room_io

    # -- lifecycle ------------------------------------------------------------------------

    async def start(
        self,
        agent: Agent,
        *,
        room: Any = None,
        room_options: RoomOptions | None = None,
        room_input_options: RoomInputOptions | None = None,
        room_output_options: RoomOutputOptions | None = None,
        capture_run: bool = False,
    ) -> RunResult | None:
        """Start the session with ``agent``; returns once the agent is running.

        With ``room``, the session listens to the room's participant and publishes its audio,
        as ``room_options`` say (or the older ``room_input_options`` / ``room_output_options``);
        in console mode the terminal (or files) are used; otherwise the session is text-only.
        """
        from .agent import Agent as _Agent

        if not isinstance(agent, _Agent):
            raise TypeError(f"start() needs an Agent, got {type(agent).__name__}")
        if self._started:
            raise RuntimeError("the session was already started")
        from .room_options import resolve_room_options

        options = resolve_room_options(room_options, room_input_options, room_output_options)
        self._started = True
        run: RunResult | None = None
        if capture_run:
            run = self._begin_run(None)

        from ..cli._console_io import console_io_for
        from ..worker.job import _current as _current_job

        job_ctx = _current_job.get()
        if job_ctx is not None:
            job_ctx._register_session(self)
        console = console_io_for(self)
        if console is not None:
            await console.attach(self)
        elif room is not None:
            from .room_io import RoomIO

            if job_ctx is not None and room is job_ctx.room:
                await job_ctx.connect()

            self._room_io = RoomIO(room, self, options=options)
            await self._room_io.start()

        if self._avatar is not None:
            await self._avatar.start(self, room)

        await self._set_activity(agent)
        if self._input.audio is not None and self._forward_audio_task is None:
            self._forward_audio_task = asyncio.create_task(self._forward_audio(), name="forward_audio")
        self._update_agent_state("listening")
        _notify("session_started", session=self)
        if run is not None:
            run._arm()
        return run

    async def __aenter__(self) -> AgentSession[Userdata_T]:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop speaking, close the agent and the I/O, and emit ``close``.

        Called from a function tool (an "end the call" tool), it cannot wait for the close,
        which cancels the reply the tool belongs to: the close starts and this returns at once.
        """
        if self._open_tool_call() is not None:
            self._watch_task(asyncio.create_task(
                self._close(CloseReason.USER_INITIATED, None), name="close_from_tool"
            ))
            return
        await self._close(CloseReason.USER_INITIATED, None)

    async def drain(self) -> None:
        """Let queued speech finish, then close.

        Called from a function tool, it returns at once; the reply the tool belongs to
        (including what the agent says after the tool) finishes, then the session closes.
        """
        scope = self._open_tool_call()
        if scope is not None:
            speech = scope.speech

            async def after_reply() -> None:
                await asyncio.shield(speech._done_fut)
                await self.drain()

            self._watch_task(asyncio.create_task(after_reply(), name="drain_from_tool"))
            return
        if self._activity is not None:
            await self._activity.drain()
        await self.aclose()

    def _open_tool_call(self) -> _ToolCallScope | None:
        """The tool call running in this task, if any (it must not wait for its own reply)."""
        scope = _current_tool_call.get()
        if scope is None or not scope.open or scope.speech.done() or self._closing:
            return None
        return scope

    async def _close(self, reason: CloseReason, error: Any) -> None:
        if self._closing:
            return
        self._closing = True
        if self._away_timer is not None:
            self._away_timer.cancel()
        from .agent_task import AgentTask

        if isinstance(self._agent, AgentTask):
            self._agent.cancel()  # the awaiting tool gets a ToolError, not a hang
        if self._activity is not None:
            with contextlib.suppress(Exception):
                await self._activity.aclose()
        for caller in reversed(self._task_callers):
            with contextlib.suppress(Exception):
                await caller.aclose()
        if self._forward_audio_task is not None:
            self._forward_audio_task.cancel()
            await asyncio.gather(self._forward_audio_task, return_exceptions=True)
        if self._room_io is not None:
            with contextlib.suppress(Exception):
                await self._room_io.aclose()
        if self._avatar is not None:
            with contextlib.suppress(Exception):
                await self._avatar.aclose()
        me = asyncio.current_task()
        others = [t for t in self._background if t is not me]
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)
        self._closed = True
        self._update_agent_state("idle")
        self._emit_event("close", CloseEvent(reason=reason, error=error))
        _notify("session_closed", session=self, reason=reason.value, error=error)

    # -- I/O --------------------------------------------------------------------------------

    def _on_audio_input_changed(self) -> None:
        if not self._started or self._closing:
            return
        if self._forward_audio_task is not None:
            self._forward_audio_task.cancel()
            self._forward_audio_task = None
        if self._input.audio is not None:
            if self._activity is not None:
                self._activity.on_audio_input_changed()
            self._forward_audio_task = asyncio.create_task(self._forward_audio(), name="forward_audio")

    async def _forward_audio(self) -> None:
        source = self._input.audio
        if source is None:
            return
        source.on_attached()
        try:
            async for frame in source:
                if self._activity is not None:
                    self._activity.push_audio(frame)
        finally:
            source.on_detached()

    # -- public actions ---------------------------------------------------------------------

    def _require_activity(self) -> AgentActivity:
        if self._activity is None:
            raise RuntimeError("the session is not running: call await session.start(agent) first")
        return self._activity

    def say(
        self,
        text: str | AsyncIterable[str],
        *,
        audio: NotGivenOr[AsyncIterable[Any]] = NOT_GIVEN,
        allow_interruptions: NotGivenOr[bool] = NOT_GIVEN,
        add_to_chat_ctx: bool = True,
    ) -> SpeechHandle:
        """Speak ``text`` (with the TTS, or the given ``audio``); queued after current speech."""
        return self._require_activity().say(
            text, audio=audio, allow_interruptions=allow_interruptions, add_to_chat_ctx=add_to_chat_ctx
        )

    def generate_reply(
        self,
        *,
        user_input: NotGivenOr[str] = NOT_GIVEN,
        instructions: NotGivenOr[str] = NOT_GIVEN,
        tool_choice: NotGivenOr[ToolChoice] = NOT_GIVEN,
        allow_interruptions: NotGivenOr[bool] = NOT_GIVEN,
        chat_ctx: ChatContext | None = None,
    ) -> SpeechHandle:
        """Generate a reply with the LLM, optionally to ``user_input`` and with extra ``instructions``."""
        activity = self._require_activity()
        message = None
        if is_given(user_input):
            if not isinstance(user_input, str):
                raise TypeError("user_input must be a str")
            message = ChatMessage(role="user", content=[user_input])
        return activity.generate_reply(
            user_message=message,
            chat_ctx=chat_ctx,
            instructions=instructions,
            tool_choice=tool_choice,
            allow_interruptions=allow_interruptions,
        )

    def interrupt(self, *, force: bool = False) -> asyncio.Future[None]:
        """Stop the current speech (and queued ones); the future is done once they stopped."""
        return self._require_activity().interrupt(force=force)

    def commit_user_turn(self) -> None:
        """End the user's turn now (for ``turn_detection="manual"``, e.g. push-to-talk)."""
        self._require_activity().commit_user_turn()

    def clear_user_turn(self) -> None:
        """Discard what the user has said in the current turn."""
        self._require_activity().clear_user_turn()

    async def run(self, *, user_input: str) -> RunResult:
        """Send a typed user turn and wait until the agent is done with it (replies, tools,
        handoffs). Returns the events of the turn, for assertions."""
        if not isinstance(user_input, str) or not user_input.strip():
            raise ValueError("run() needs a non-empty user_input string")
        if self._run_result is not None and not self._run_result.done():
            raise RuntimeError("another run() is in progress; runs cannot be nested")
        activity = self._require_activity()
        result = self._begin_run(user_input)
        activity.on_text_input(user_input)
        result._arm()
        await result
        return result

    async def handoff(self, agent: Agent) -> None:
        """Make ``agent`` the active agent: the current agent's ``on_exit`` runs, an
        ``AgentHandoff`` item is added to the history, and ``agent``'s ``on_enter`` runs. The
        new agent continues the conversation (unless it was given its own ``chat_ctx``).

        Called from your own code (an event handler, a task, ``on_enter``), it returns once
        ``agent`` is active; queued speech of the current agent is played first.

        Called from a function tool of the current agent, the switch cannot happen while the
        tool runs (the agent is still in the reply that called the tool), so it is scheduled:
        this returns at once, and the switch happens when the tool step completes, exactly as
        if the tool had returned ``agent``. Until then ``current_agent`` is still the calling
        agent. The tool's return value is recorded as its output, and the old agent does not
        reply to it; the new agent's ``on_enter`` takes over. If the tool calls this several
        times, the last call wins; if it also returns an ``Agent``, the returned one wins. If
        the user interrupts the reply before the tool step completes, no handoff happens.
        """
        self._check_agent(agent)
        if self._defer_handoff_to_tool_step(agent):
            return
        self._refuse_during_task(agent)
        activity = self._activity
        if activity is not None and not activity._release_calling_hook():
            self._start_handoff(agent)  # from on_exit: a handoff waits for this hook to end
            return
        task = self._start_handoff(agent)
        await asyncio.shield(task)

    def update_agent(self, agent: Agent) -> None:
        """Hand off to ``agent`` without waiting (from a tool: when the tool step completes)."""
        self._check_agent(agent)
        if self._defer_handoff_to_tool_step(agent):
            return
        self._refuse_during_task(agent)
        self._start_handoff(agent)

    def _refuse_during_task(self, agent: Agent) -> None:
        if self._task_callers:
            raise RuntimeError(
                f"cannot hand off to {agent!r} while the AgentTask {self._agent!r} runs: "
                "complete the task, then hand off from the agent that awaited it"
            )

    @staticmethod
    def _check_agent(agent: Agent) -> None:
        from .agent import Agent as _Agent

        if not isinstance(agent, _Agent):
            raise TypeError(f"a handoff needs an Agent, got {type(agent).__name__}")

    def _defer_handoff_to_tool_step(self, agent: Agent) -> bool:
        """From a running tool: record ``agent`` for the end of the tool step (see handoff)."""
        scope = self._open_tool_call()
        if scope is None:
            return False
        scope.handoff = agent
        return True

    def _start_handoff(self, agent: Agent) -> asyncio.Task[None]:
        task = asyncio.create_task(self._set_activity(agent), name="handoff")
        self._watch_task(task)
        return task

    async def _set_activity(self, agent: Agent) -> None:
        from .activity import AgentActivity

        async with self._activity_lock:
            if self._closing:
                return
            if self._task_callers:
                logger.error(
                    "handoff to %r dropped: the AgentTask %r is running (complete it, then hand "
                    "off from the agent that awaited it)", agent, self._agent,
                )
                return
            old = self._activity
            previous = old.agent if old is not None else None
            if old is not None:
                if old.agent is agent:
                    return
                await old.drain()
                await old.aclose()
                if not agent._chat_ctx_given and not agent.chat_ctx.items:
                    # the new agent continues the conversation (without the old instructions)
                    agent._chat_ctx = old.agent.chat_ctx.copy(exclude_instructions=True)
            self._agent = agent
            self._activity = AgentActivity(agent, self)
            if previous is not None:
                item = AgentHandoff(old_agent_id=previous.id, new_agent_id=agent.id)
                self._history.insert(item)
                self._emit_event("conversation_item_added", ConversationItemAddedEvent(item=item))
                if self._run_result is not None:
                    self._run_result._agent_handoff(item, previous, agent)
            await self._activity.start()

    # -- run results (testing) ----------------------------------------------------------------

    def _begin_run(self, user_input: str | None) -> RunResult:
        from .run_result import RunResult

        self._run_result = RunResult(session=self, user_input=user_input)
        return self._run_result

    def _watch_task(self, task: asyncio.Task[Any]) -> None:
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        if self._run_result is not None and not self._run_result.done():
            self._run_result._watch_task(task)

    def _on_speech_created(self, ev: SpeechCreatedEvent) -> None:
        if self._run_result is not None and not self._run_result.done():
            self._run_result._watch_speech(ev.speech_handle)
        self._emit_event("speech_created", ev)

    # -- events -------------------------------------------------------------------------------

    def _emit_event(self, name: EventTypes, event: Any) -> None:
        self.emit(name, event)

    def _update_agent_state(self, state: AgentState) -> None:
        if state == self._agent_state:
            return
        old, self._agent_state = self._agent_state, state
        self._emit_event("agent_state_changed", AgentStateChangedEvent(old_state=old, new_state=state))
        self._arm_away_timer()

    def _update_user_state(self, state: UserState) -> None:
        if state == self._user_state:
            return
        old, self._user_state = self._user_state, state
        self._emit_event("user_state_changed", UserStateChangedEvent(old_state=old, new_state=state))
        if state == "speaking":
            self._emit_event("user_speech_started", UserSpeechStartedEvent())
        self._arm_away_timer()

    def _arm_away_timer(self) -> None:
        if self._away_timer is not None:
            self._away_timer.cancel()
            self._away_timer = None
        timeout = self._opts.user_away_timeout
        if timeout is None or self._closing or self._input.audio is None:
            return
        if self._agent_state == "listening" and self._user_state == "listening":
            self._away_timer = asyncio.get_running_loop().call_later(
                timeout, self._update_user_state, "away"
            )

    def _conversation_item_added(self, item: ChatMessage) -> None:
        self._history.insert(item)
        self._emit_event("conversation_item_added", ConversationItemAddedEvent(item=item))
        _notify("conversation_item_added", session=self, item=item)

    def _tool_item_added(self, item: FunctionCall | FunctionCallOutput) -> None:
        self._history.insert(item)

    def _on_metrics(self, metrics: Any) -> None:
        speech = self._activity.current_speech if self._activity is not None else None
        if speech is not None and getattr(metrics, "speech_id", "") is None:
            metrics.speech_id = speech.id
        self._emit_event("metrics_collected", MetricsCollectedEvent(metrics=metrics))
        _notify("metrics_collected", session=self, metrics=metrics)

    def _on_model_error(self, source: Any, error: Any) -> None:
        self._emit_event("error", ErrorEvent(error=error, source=source))
        _notify("session_error", session=self, error=error)
        if getattr(error, "recoverable", True):
            return
        kind = {"llm_error": "llm", "stt_error": "stt", "tts_error": "tts"}.get(
            getattr(error, "type", ""), "llm"
        )
        self._error_counts[kind] += 1
        limit = self._conn_options.max_unrecoverable_errors
        if self._error_counts[kind] > limit and not self._closing:
            logger.error(
                "%s failed %d times in a row without recovering; closing the session",
                kind.upper(), self._error_counts[kind],
            )
            task = asyncio.create_task(self._close(CloseReason.ERROR, error))
            self._background.add(task)

    def _reset_error_count(self, kind: str) -> None:
        self._error_counts[kind] = 0


def _resolve(kind: str, value: Any) -> Any:
    if not is_given(value) or value is None:
        return None
    return registry.resolve(kind, value)


def _check_range(name: str, value: float, minimum: float, message: str | None = None) -> None:
    if not isinstance(value, (int, float)) or value < minimum:
        raise ValueError(f"{name} {message or f'must be >= {minimum}'}, got {value!r}")


def _notify(hook: str, **kwargs: Any) -> None:
    """Tell observer plugins (pluggy is imported on first use, not with the session module)."""
    from .. import hooks

    hooks.notify(hook, **kwargs)
