"""``AgentActivity``: one running agent. Schedules speech, handles user turns, runs tools.

Speech (``say``, replies, tool follow-ups) goes through a priority queue and plays one at a
time. A reply starts its LLM at once (so preemptive generation and queued replies lose no
time), waits for its turn, then streams LLM text into the TTS and TTS audio into the output,
recording only what was played when it is interrupted.
"""

from __future__ import annotations

import asyncio
import contextvars
import heapq
import itertools
import time
from collections.abc import AsyncIterable, Callable, Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..llm import (
    ChatContext,
    ChatMessage,
    FunctionCall,
    StopResponse,
    ToolContext,
    ToolFlag,
)
from ..log import logger
from ..metrics import EOUMetrics
from ..stt import SpeechEvent
from ..tokenize.basic import split_words
from ..types import NOT_GIVEN, NotGivenOr, is_given
from ..utils.aio import Chan, cancel_and_wait
from .agent import Agent, ModelSettings
from .audio_recognition import AudioRecognition, EndOfTurnInfo
from .events import (
    AgentFalseInterruptionEvent,
    AgentSpeechEndedEvent,
    AgentSpeechStartedEvent,
    FunctionToolsExecutedEvent,
    SpeechCreatedEvent,
    UserInputTranscribedEvent,
    UserSpeechEndedEvent,
)
from .generation import (
    LLMOutput,
    PlayoutTracker,
    ToolResult,
    execute_tool_call,
    forward_audio,
    forward_text_synced,
    read_llm_output,
)
from .speech_handle import SpeechHandle
from .text_transforms import apply_text_transforms

if TYPE_CHECKING:
    from ..llm import LLM, ToolChoice
    from ..stt import STT
    from ..tts import TTS
    from ..vad import VAD, VADEvent
    from .agent_session import AgentSession

__all__ = ["AgentActivity"]

#: True while the agent's on_enter hook runs (tools flagged IGNORE_ON_ENTER are hidden)
_in_on_enter: contextvars.ContextVar[bool] = contextvars.ContextVar("lk_in_on_enter", default=False)
#: the hook task running in the current context, and the hook's name ("on_enter", "on_exit")
_current_hook: contextvars.ContextVar[tuple[asyncio.Task[Any], str] | None] = contextvars.ContextVar(
    "lk_current_hook", default=None
)
#: the activity whose speech task or hook is running in the current context (AgentTask uses it)
_current_activity: contextvars.ContextVar[AgentActivity | None] = contextvars.ContextVar(
    "lk_current_activity", default=None
)


@dataclass
class _Played:
    """The outcome of speaking one generation."""

    heard: str
    interrupted: bool
    #: wall-clock time the generation started playing out (or was created)
    started_at: float
    #: wall-clock time the first audio (or, without audio, text) went out
    speaking_at: float | None = None
    #: seconds from the first text sent to the TTS to its first audio frame
    tts_ttfb: float | None = None


@dataclass
class _Preemptive:
    speech: SpeechHandle
    transcript: str
    base_ctx: ChatContext
    tool_names: frozenset[str]


class AgentActivity:
    def __init__(self, agent: Agent, session: AgentSession[Any]) -> None:
        self._agent = agent
        self._session = session
        opts = session.options

        def pick(agent_value: Any, session_value: Any) -> Any:
            return agent_value if is_given(agent_value) else session_value

        self._stt: STT | None = pick(agent.stt, session.stt)
        self._llm: LLM | None = pick(agent.llm, session.llm)
        self._tts: TTS | None = pick(agent.tts, session.tts)
        self._vad: VAD | None = pick(agent.vad, session.vad)
        self._turn_detection = pick(agent.turn_detection, session.turn_detection)
        self._allow_interruptions: bool = pick(agent.allow_interruptions, opts.allow_interruptions)
        self._min_delay: float = pick(agent._min_endpointing_delay, opts.min_endpointing_delay)
        self._max_delay: float = pick(agent._max_endpointing_delay, opts.max_endpointing_delay)

        self._queue: list[tuple[int, int, SpeechHandle]] = []
        self._queue_changed = asyncio.Event()
        self._seq = itertools.count()
        self._current: SpeechHandle | None = None
        self._speech_tasks: set[asyncio.Task[Any]] = set()
        self._scheduling_task: asyncio.Task[None] | None = None
        self._scheduling_paused = False
        self._recognition: AudioRecognition | None = None
        self._user_silence = asyncio.Event()
        self._user_silence.set()
        self._user_turn_task: asyncio.Task[None] | None = None
        self._paused: SpeechHandle | None = None
        self._false_interruption_timer: asyncio.TimerHandle | None = None
        self._preemptive: _Preemptive | None = None
        self._streaming_stt: STT | None = None
        self._streaming_tts: TTS | None = None
        self._mcp_toolsets: list[Any] = []
        self._subscriptions: list[tuple[Any, str, Any]] = []
        self._closed = False

    # -- properties -----------------------------------------------------------------------

    @property
    def agent(self) -> Agent:
        return self._agent

    @property
    def session(self) -> AgentSession[Any]:
        return self._session

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
    def allow_interruptions(self) -> bool:
        return self._allow_interruptions

    @property
    def current_speech(self) -> SpeechHandle | None:
        return self._current

    def streaming_stt(self) -> STT | None:
        """The STT as a streaming STT (batch STTs wrapped with the VAD, once)."""
        if self._stt is None:
            return None
        if self._stt.capabilities.streaming:
            return self._stt
        if self._streaming_stt is None:
            from ..stt import StreamAdapter

            if self._vad is None:
                raise RuntimeError(
                    f"{type(self._stt).__name__} cannot stream: give the session a VAD "
                    f'(e.g. vad="silero") so utterances can be cut for it'
                )
            self._streaming_stt = StreamAdapter(stt=self._stt, vad=self._vad)
        return self._streaming_stt

    def streaming_tts(self) -> TTS | None:
        """The TTS as a streaming TTS (batch TTSs go sentence by sentence, once wrapped)."""
        if self._tts is None:
            return None
        if self._tts.capabilities.streaming:
            return self._tts
        if self._streaming_tts is None:
            from ..tts import StreamAdapter

            self._streaming_tts = StreamAdapter(tts=self._tts)
        return self._streaming_tts

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        self._agent._activity = self
        self._agent._sync_instructions()
        for model in (self._stt, self._llm, self._tts, self._vad):
            if model is None:
                continue
            self._subscribe(model, "metrics_collected", self._session._on_metrics)
            if model is not self._vad:
                self._subscribe(model, "error", lambda err, m=model: self._session._on_model_error(m, err))
            try:
                prewarm = getattr(model, "prewarm", None)
                if callable(prewarm):
                    prewarm()
            except Exception:
                logger.exception("prewarm of %r failed", model)
        await self._setup_tools()
        self._scheduling_task = asyncio.create_task(self._scheduling_loop(), name="speech_scheduling")
        self._start_recognition()
        self._run_hook(self._agent.on_enter, name="on_enter", on_enter=True)

    def _subscribe(self, emitter: Any, event: str, handler: Any) -> None:
        emitter.on(event, handler)
        self._subscriptions.append((emitter, event, handler))

    async def _setup_tools(self) -> None:
        servers = list(self._agent.mcp_servers) or list(self._session._mcp_servers)
        if servers:
            from ..mcp import MCPToolset

            for server in servers:
                toolset = MCPToolset(id=f"mcp_{id(server):x}", mcp_server=server)
                try:
                    await toolset.setup()
                except Exception:
                    logger.exception("MCP server %r failed to start; its tools are unavailable", server)
                    continue
                self._mcp_toolsets.append(toolset)
        for tool in self._all_tools():
            setup = getattr(tool, "setup", None)
            if setup is not None and not getattr(tool, "_lk_setup_done", False):
                try:
                    await setup()
                    tool._lk_setup_done = True
                except Exception:
                    logger.exception("toolset %r failed to set up", tool)

    def _start_recognition(self) -> None:
        if self._session.input.audio is None or self._closed:
            return
        if self._stt is None and self._vad is None:
            return
        mode = self._turn_detection
        if mode == "vad" and self._vad is None:
            raise RuntimeError('turn_detection="vad" needs a VAD (e.g. vad="silero")')
        stt_node = None
        if self._stt is not None:

            def stt_node(audio: AsyncIterable[Any]) -> Any:
                return self._agent.stt_node(audio, ModelSettings())

        self._recognition = AudioRecognition(
            hooks=self,
            stt_node=stt_node,
            vad=self._vad,
            turn_detection=mode,
            min_endpointing_delay=self._min_delay,
            max_endpointing_delay=self._max_delay,
        )
        self._recognition.start()

    def push_audio(self, frame: Any) -> None:
        if self._recognition is not None:
            self._recognition.push_audio(frame)

    def on_audio_input_changed(self) -> None:
        if self._recognition is None:
            self._start_recognition()

    async def drain(self) -> None:
        """Run ``on_exit``, let queued speech finish, then stop scheduling."""
        if self._preemptive is not None:
            self._cancel_preemptive()
        task = self._run_hook(self._agent.on_exit, name="on_exit")
        await asyncio.gather(task, return_exceptions=True)
        self._scheduling_paused = True
        self._queue_changed.set()
        if self._scheduling_task is not None:
            await asyncio.gather(self._scheduling_task, return_exceptions=True)

    async def pause(self) -> None:
        """Stop listening while an :class:`AgentTask` takes over; running speech and tools go on."""
        self._cancel_false_interruption()
        if self._preemptive is not None:
            self._cancel_preemptive()
        recognition, self._recognition = self._recognition, None
        if recognition is not None:
            await recognition.aclose()

    def resume(self) -> None:
        """Listen again after an :class:`AgentTask` completed."""
        if not self._closed and self._recognition is None:
            self._start_recognition()

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._cancel_false_interruption()
        self._scheduling_paused = True
        self._queue_changed.set()
        for _, _, speech in self._queue:
            speech.interrupt(force=True)
        if self._current is not None:
            self._current.interrupt(force=True)
        if self._recognition is not None:
            await self._recognition.aclose()
        await cancel_and_wait(self._scheduling_task, self._user_turn_task, *self._speech_tasks)
        for emitter, event, handler in self._subscriptions:
            emitter.off(event, handler)
        self._subscriptions.clear()
        for toolset in self._mcp_toolsets:
            try:
                await toolset.aclose()
            except Exception:
                logger.exception("error closing %r", toolset)
        if self._agent._activity is self:
            self._agent._activity = None

    # -- speech scheduling ----------------------------------------------------------------

    def _schedule(self, speech: SpeechHandle, priority: int = SpeechHandle.SPEECH_PRIORITY_NORMAL) -> None:
        if self._scheduling_paused:
            speech.interrupt(force=True)
            logger.warning("speech %s dropped: the agent is no longer active", speech.id)
            return
        heapq.heappush(self._queue, (-priority, next(self._seq), speech))
        self._queue_changed.set()

    async def _scheduling_loop(self) -> None:
        while True:
            if not self._queue:
                if self._scheduling_paused and not self._pending_speech_tasks():
                    return
                self._queue_changed.clear()
                await self._queue_changed.wait()
                continue
            _, _, speech = heapq.heappop(self._queue)
            if speech.done():
                continue
            self._current = speech
            speech._mark_scheduled()
            speech._authorize()
            try:
                await asyncio.shield(speech._done_fut)
            finally:
                self._current = None
                if self._paused is speech:
                    self._paused = None
                if not self._queue and not self._scheduling_paused:
                    self._session._update_agent_state("listening")

    def _pending_speech_tasks(self) -> bool:
        return any(not t.done() for t in self._speech_tasks)

    def _create_speech_task(self, coro: Coroutine[Any, Any, Any], speech: SpeechHandle, name: str) -> asyncio.Task[Any]:
        async def run() -> Any:
            _current_activity.set(self)
            return await coro

        task = asyncio.create_task(run(), name=name)
        self._speech_tasks.add(task)

        def done(t: asyncio.Task[Any]) -> None:
            self._speech_tasks.discard(t)
            coro.close()  # no-op once awaited; a task cancelled before it ran never awaited it
            if not t.cancelled() and (exc := t.exception()) is not None:
                speech._error = exc
                logger.error("speech %s failed: %s", speech.id, exc, exc_info=exc)
            speech._mark_done()
            self._queue_changed.set()

        task.add_done_callback(done)
        return task

    def _run_hook(
        self, hook: Callable[[], Coroutine[Any, Any, Any]], *, name: str, on_enter: bool = False
    ) -> asyncio.Task[Any]:
        async def run() -> None:
            _current_activity.set(self)
            token = _in_on_enter.set(on_enter)
            me = asyncio.current_task()
            hook_token = _current_hook.set((me, name) if me is not None else None)
            try:
                await hook()
            except Exception:
                logger.exception("error in %s of %r", name, self._agent)
            finally:
                _current_hook.reset(hook_token)
                _in_on_enter.reset(token)

        task = asyncio.create_task(run(), name=name)
        self._speech_tasks.add(task)
        def done(t: asyncio.Task[Any]) -> None:
            self._speech_tasks.discard(t)
            self._queue_changed.set()

        task.add_done_callback(done)
        self._session._watch_task(task)
        return task

    def _release_calling_hook(self) -> bool:
        """Let a handoff called from a hook of this agent (``on_enter``...) proceed.

        ``drain`` waits for running hooks, so a hook that awaits a handoff (which drains this
        activity) would wait for itself: the hook is released instead (it keeps running,
        ``aclose`` leaves it alone, and speech it starts afterwards on this activity is
        dropped). Returns False if the caller must not wait for the handoff: from ``on_exit``,
        a handoff is already under way and waits for the hook to end.
        """
        hook = _current_hook.get()
        if hook is None or hook[0] not in self._speech_tasks:
            return True
        task, name = hook
        if name == "on_exit":
            return False
        self._speech_tasks.discard(task)
        self._queue_changed.set()
        return True

    # -- public actions -------------------------------------------------------------------

    def say(
        self,
        text: str | AsyncIterable[str],
        *,
        audio: NotGivenOr[AsyncIterable[Any]] = NOT_GIVEN,
        allow_interruptions: NotGivenOr[bool] = NOT_GIVEN,
        add_to_chat_ctx: bool = True,
    ) -> SpeechHandle:
        speech = SpeechHandle.create(
            allow_interruptions=allow_interruptions if is_given(allow_interruptions) else self._allow_interruptions
        )
        self._session._on_speech_created(SpeechCreatedEvent(user_initiated=True, source="say", speech_handle=speech))
        self._create_speech_task(
            self._say_task(speech, text, audio if is_given(audio) else None, add_to_chat_ctx),
            speech, name="say",
        )
        self._schedule(speech)
        return speech

    def generate_reply(
        self,
        *,
        user_message: ChatMessage | None = None,
        chat_ctx: ChatContext | None = None,
        instructions: NotGivenOr[str] = NOT_GIVEN,
        tool_choice: NotGivenOr[ToolChoice] = NOT_GIVEN,
        allow_interruptions: NotGivenOr[bool] = NOT_GIVEN,
        schedule: bool = True,
        user_initiated: bool = True,
    ) -> SpeechHandle:
        """Start a reply. With ``user_message``, it is committed to the conversation first."""
        if self._llm is None:
            raise RuntimeError("generate_reply needs an LLM: pass llm=... to the AgentSession or Agent")
        speech = SpeechHandle.create(
            allow_interruptions=allow_interruptions if is_given(allow_interruptions) else self._allow_interruptions
        )
        ctx = (chat_ctx if chat_ctx is not None else self._agent.chat_ctx).copy()
        if user_message is not None:
            self._commit_user_message(user_message)
            if ctx.get_by_id(user_message.id) is None:
                ctx.insert(user_message)
        if schedule:
            self._session._on_speech_created(
                SpeechCreatedEvent(user_initiated=user_initiated, source="generate_reply", speech_handle=speech)
            )
        self._create_speech_task(
            self._reply_task(
                speech,
                chat_ctx=ctx,
                instructions=instructions if is_given(instructions) else None,
                tool_choice=tool_choice,
                on_enter=_in_on_enter.get(),
            ),
            speech,
            name="reply",
        )
        if schedule:
            self._schedule(speech)
        return speech

    def interrupt(self, *, force: bool = False) -> asyncio.Future[None]:
        """Interrupt the current and queued speech; the future is done when they have stopped."""
        handles = [s for _, _, s in self._queue]
        if self._current is not None:
            handles.insert(0, self._current)
        for h in handles:
            if not h.done() and not h.allow_interruptions and not force:
                raise RuntimeError(f"speech {h.id} does not allow interruptions")
        for h in handles:
            if not h.done():
                h.interrupt(force=force)
        if self._paused is not None:
            self._paused = None
        fut = asyncio.ensure_future(
            asyncio.gather(*(h.wait_for_playout() for h in handles), return_exceptions=True)
        )
        result: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        def finished(_: asyncio.Future[Any]) -> None:
            if not result.done():
                result.set_result(None)

        fut.add_done_callback(finished)
        return result

    def commit_user_turn(self) -> None:
        if self._recognition is None:
            raise RuntimeError("there is no audio input to commit a user turn from")
        self._recognition.commit_user_turn()

    def clear_user_turn(self) -> None:
        if self._recognition is not None:
            self._recognition.clear_user_turn()

    # -- tools ----------------------------------------------------------------------------

    def _all_tools(self) -> list[Any]:
        return [*self._session.tools, *self._agent.tools, *self._mcp_toolsets]

    def _tool_ctx(self, *, on_enter: bool) -> ToolContext:
        ctx = ToolContext(self._all_tools())
        if on_enter:
            keep = [t for t in ctx.flatten() if not (t.flags & ToolFlag.IGNORE_ON_ENTER)]
            ctx = ToolContext(keep)
        return ctx

    # -- user input hooks (called by AudioRecognition) ------------------------------------

    def retrieve_chat_ctx(self) -> ChatContext:
        return self._agent.chat_ctx

    def on_start_of_speech(self, ev: VADEvent | None) -> None:
        self._user_silence.clear()
        self._cancel_false_interruption()
        self._session._update_user_state("speaking")

    def on_vad_inference_done(self, ev: VADEvent) -> None:
        if self._turn_detection == "manual":
            return
        if ev.speaking and ev.speech_duration >= self._session.options.min_interruption_duration:
            self._interrupt_by_audio_activity()

    def on_end_of_speech(self, ev: VADEvent | None) -> None:
        self._user_silence.set()
        self._session._update_user_state("listening")
        if self._paused is not None:
            self._start_false_interruption_timer()

    def on_interim_transcript(self, ev: SpeechEvent) -> None:
        alt = ev.alternatives[0]
        self._session._emit_event(
            "user_input_transcribed",
            UserInputTranscribedEvent(transcript=alt.text, is_final=False, language=alt.language or None,
                                      speaker_id=alt.speaker_id),
        )
        if self._recognition is not None and not self._recognition.uses_vad:
            self._interrupt_by_audio_activity()

    def on_final_transcript(self, ev: SpeechEvent) -> None:
        alt = ev.alternatives[0]
        self._session._reset_error_count("stt")
        self._session._emit_event(
            "user_input_transcribed",
            UserInputTranscribedEvent(transcript=alt.text, is_final=True, language=alt.language or None,
                                      speaker_id=alt.speaker_id),
        )
        if self._recognition is not None and not self._recognition.uses_vad:
            self._interrupt_by_audio_activity()
        elif self._paused is not None:
            transcript = self._recognition.current_transcript if self._recognition else alt.text
            if not self._is_backchannel(transcript):
                self._interrupt_by_audio_activity(hard=True)

    def on_preemptive_generation(self, transcript: str) -> None:
        opts = self._session.options
        if not opts.preemptive_generation or self._llm is None or self._scheduling_paused:
            return
        if self._current is not None and not self._current.done() and not self._current.interrupted:
            return
        if self._preemptive is not None:
            if self._preemptive.transcript == transcript:
                return
            self._cancel_preemptive()
        base = self._agent.chat_ctx.copy()
        ctx = base.copy()
        ctx.insert(ChatMessage(role="user", content=[transcript]))
        speech = SpeechHandle.create(allow_interruptions=self._allow_interruptions)
        self._create_speech_task(
            self._reply_task(speech, chat_ctx=ctx, instructions=None, tool_choice=NOT_GIVEN, on_enter=False),
            speech, name="preemptive_reply",
        )
        self._preemptive = _Preemptive(
            speech=speech,
            transcript=transcript,
            base_ctx=base,
            tool_names=frozenset(self._tool_ctx(on_enter=False).function_tools),
        )

    def _cancel_preemptive(self) -> None:
        if self._preemptive is not None:
            self._preemptive.speech.interrupt(force=True)
            self._preemptive = None

    def on_end_of_turn(self, info: EndOfTurnInfo) -> bool:
        if self._scheduling_paused:
            return True
        transcript = info.new_transcript
        current = self._current if self._current is not None and not self._current.done() else None
        if current is not None and current.allow_interruptions and not current.interrupted:
            words = split_words(transcript)
            min_words = self._session.options.min_interruption_words
            if min_words and len(words) < min_words:
                return False
            if self._is_backchannel(transcript):
                logger.debug("backchannel %r while the agent speaks: ignored", transcript)
                self._resume_paused()
                return True
        self._cancel_false_interruption()
        previous = self._user_turn_task
        self._user_turn_task = asyncio.create_task(
            self._user_turn_completed(info, previous), name="user_turn_completed"
        )
        return True

    def on_text_input(self, text: str) -> None:
        """A typed user turn: handled like a spoken one (hooks, interruption, reply)."""
        info = EndOfTurnInfo(
            new_transcript=text,
            transcript_confidence=1.0,
            transcription_delay=0.0,
            end_of_utterance_delay=0.0,
            started_speaking_at=None,
            stopped_speaking_at=None,
        )
        previous = self._user_turn_task
        self._user_turn_task = asyncio.create_task(
            self._user_turn_completed(info, previous, spoken=False), name="user_text_input"
        )
        self._session._watch_task(self._user_turn_task)

    async def _user_turn_completed(
        self, info: EndOfTurnInfo, previous: asyncio.Task[None] | None, *, spoken: bool = True
    ) -> None:
        if previous is not None and not previous.done():
            await asyncio.gather(previous, return_exceptions=True)
        message = ChatMessage(
            role="user",
            content=[info.new_transcript],
            transcript_confidence=info.transcript_confidence,
            metrics={
                "transcription_delay": info.transcription_delay,
                "end_of_turn_delay": info.end_of_utterance_delay,
                "started_speaking_at": info.started_speaking_at,
                "stopped_speaking_at": info.stopped_speaking_at,
            },
        )
        if spoken:
            self._session._emit_event(
                "user_speech_ended", UserSpeechEndedEvent(transcript=info.new_transcript)
            )

        current = self._current
        if current is not None and not current.done():
            if current.allow_interruptions:
                current.interrupt()
                self._paused = None
            else:
                logger.warning("the user spoke during an uninterruptible reply; no reply to this turn")
                self._commit_user_message(message)
                return

        started = time.perf_counter()
        turn_ctx = self._agent.chat_ctx.copy()
        try:
            await self._agent.on_user_turn_completed(turn_ctx, new_message=message)
        except StopResponse:
            self._cancel_preemptive()
            self._commit_user_message(message)
            return
        except Exception:
            logger.exception("error in on_user_turn_completed of %r", self._agent)
            self._cancel_preemptive()
            self._commit_user_message(message)
            return
        hook_delay = time.perf_counter() - started
        message.metrics["on_user_turn_completed_delay"] = hook_delay

        speech: SpeechHandle | None = None
        pre = self._preemptive
        self._preemptive = None
        if (
            pre is not None
            and not pre.speech.done()
            and pre.transcript == message.text_content
            and turn_ctx.is_equivalent(pre.base_ctx)
            and frozenset(self._tool_ctx(on_enter=False).function_tools) == pre.tool_names
        ):
            self._commit_user_message(message)
            speech = pre.speech
            self._session._on_speech_created(
                SpeechCreatedEvent(user_initiated=False, source="generate_reply", speech_handle=speech)
            )
            self._schedule(speech)
        else:
            if pre is not None:
                pre.speech.interrupt(force=True)
            turn_ctx.insert(message)
            speech = self.generate_reply(user_message=message, chat_ctx=turn_ctx, user_initiated=False)

        if spoken:
            self._session._on_metrics(
                EOUMetrics(
                    end_of_utterance_delay=info.end_of_utterance_delay,
                    transcription_delay=info.transcription_delay,
                    on_user_turn_completed_delay=hook_delay,
                    endpointing_delay=info.endpointing_delay,
                    speech_id=speech.id if speech else None,
                )
            )

    def _commit_user_message(self, message: ChatMessage) -> None:
        if self._agent.chat_ctx.get_by_id(message.id) is not None:
            return
        self._agent.chat_ctx.insert(message)
        self._session._conversation_item_added(message)

    # -- interruptions --------------------------------------------------------------------

    def _is_backchannel(self, transcript: str) -> bool:
        words = self._session.options.backchannel_words
        if not words or not transcript.strip():
            return False
        said = [w.lower() for w in split_words(transcript)]
        return bool(said) and all(w in words for w in said)

    def _interrupt_by_audio_activity(self, *, hard: bool = False) -> None:
        if not self._allow_interruptions:
            return
        speech = self._current
        if speech is None or speech.done() or speech.interrupted or not speech.allow_interruptions:
            return
        if self._paused is speech and not hard:
            return  # already paused; a transcript (hard) or the timer decides what happens next
        opts = self._session.options
        transcript = self._recognition.current_transcript if self._recognition else ""
        min_words = opts.min_interruption_words
        if not hard and min_words and len(split_words(transcript)) < min_words:
            return
        soft = bool(opts.backchannel_words) and (not transcript or self._is_backchannel(transcript))
        audio_out = self._session.output.audio
        can_pause = (
            audio_out is not None
            and audio_out.can_pause
            and self._session.agent_state == "speaking"
            and opts.resume_false_interruption
            and opts.false_interruption_timeout is not None
        )
        if not hard and can_pause:
            if self._paused is None:
                assert audio_out is not None
                audio_out.pause()
                self._paused = speech
                self._session._update_agent_state("listening")
                logger.debug("agent paused: the user may be interrupting")
            return
        if soft and not hard:
            return
        self._paused = None
        speech.interrupt()

    def _start_false_interruption_timer(self) -> None:
        self._cancel_false_interruption()
        timeout = self._session.options.false_interruption_timeout
        if timeout is None:
            return
        self._false_interruption_timer = asyncio.get_running_loop().call_later(
            timeout, self._on_false_interruption
        )

    def _cancel_false_interruption(self) -> None:
        if self._false_interruption_timer is not None:
            self._false_interruption_timer.cancel()
            self._false_interruption_timer = None

    def _on_false_interruption(self) -> None:
        self._false_interruption_timer = None
        if self._paused is None:
            return
        if self._recognition is not None and self._recognition.end_of_turn_pending:
            transcript = self._recognition.current_transcript
            if transcript and not self._is_backchannel(transcript):
                return  # a real turn is being decided
        resumed = self._resume_paused()
        self._session._emit_event("agent_false_interruption", AgentFalseInterruptionEvent(resumed=resumed))

    def _resume_paused(self) -> bool:
        speech, self._paused = self._paused, None
        audio_out = self._session.output.audio
        if speech is None or speech.done() or speech.interrupted or audio_out is None:
            return False
        audio_out.resume()
        self._session._update_agent_state("speaking")
        logger.debug("agent resumed after a false interruption")
        return True

    # -- speech production ----------------------------------------------------------------

    async def _wait_authorized(self, speech: SpeechHandle) -> bool:
        """Wait for the scheduler (and, for interruptible speech, for the user to be silent)."""
        interrupted = asyncio.ensure_future(speech._wait_for_interrupt())
        try:
            auth = asyncio.ensure_future(speech._wait_for_authorization())
            await asyncio.wait([auth, interrupted], return_when=asyncio.FIRST_COMPLETED)
            auth.cancel()
            if speech.interrupted:
                return False
            if speech.allow_interruptions and not self._user_silence.is_set():
                silence = asyncio.ensure_future(self._user_silence.wait())
                await asyncio.wait([silence, interrupted], return_when=asyncio.FIRST_COMPLETED)
                silence.cancel()
            return not speech.interrupted
        finally:
            interrupted.cancel()

    async def _say_task(
        self,
        speech: SpeechHandle,
        text: str | AsyncIterable[str],
        audio: AsyncIterable[Any] | None,
        add_to_chat_ctx: bool,
    ) -> None:
        out = LLMOutput()

        async def feed() -> None:
            try:
                if isinstance(text, str):
                    out.text += text
                    out.text_ch.send_nowait(text)
                else:
                    async for delta in text:
                        out.text += delta
                        out.text_ch.send_nowait(delta)
            finally:
                out.text_ch.close()
                out.function_ch.close()

        if not await self._wait_authorized(speech):
            return
        feeder = asyncio.create_task(feed())
        try:
            played = await self._play(speech, out, audio=audio)
        finally:
            await cancel_and_wait(feeder)
        if add_to_chat_ctx and played.heard:
            msg = ChatMessage(role="assistant", content=[played.heard], interrupted=played.interrupted,
                              created_at=played.started_at, metrics=self._reply_metrics(played, None))
            self._agent.chat_ctx.insert(msg)
            speech._add_item(msg)
            self._session._conversation_item_added(msg)
        speech._mark_step_played()

    async def _reply_task(
        self,
        speech: SpeechHandle,
        *,
        chat_ctx: ChatContext,
        instructions: str | None,
        tool_choice: NotGivenOr[ToolChoice],
        on_enter: bool,
    ) -> None:
        step_ctx = chat_ctx
        choice = tool_choice
        max_steps = self._session.options.max_tool_steps
        while True:
            tool_ctx = self._tool_ctx(on_enter=on_enter)
            llm_ctx = step_ctx.copy()
            if instructions:
                llm_ctx.add_message(role="system", content=instructions)
            out = LLMOutput()
            settings = ModelSettings(tool_choice=choice)
            llm_task = asyncio.create_task(
                read_llm_output(self._agent.llm_node(llm_ctx, tool_ctx.flatten(), settings), out),
                name="llm_inference",
            )
            results: list[ToolResult] = []
            tool_task: asyncio.Task[None] | None = None
            try:
                if not await self._wait_authorized(speech):
                    return
                self._session._update_agent_state("thinking")
                if choice != "none":
                    tool_task = asyncio.create_task(
                        self._run_tools(speech, tool_ctx, out.function_ch, results), name="tools"
                    )
                played = await self._play(speech, out, llm_task=llm_task)
                llm_failed = llm_task.done() and not llm_task.cancelled() and not played.interrupted
                if llm_failed and (exc := llm_task.exception()) is not None:
                    raise exc
            finally:
                await cancel_and_wait(llm_task)
                if tool_task is not None and (speech.interrupted or self._closed):
                    await cancel_and_wait(tool_task)

            if played.heard:
                msg = ChatMessage(role="assistant", content=[played.heard], interrupted=played.interrupted,
                                  created_at=played.started_at, id=out.id,
                                  metrics=self._reply_metrics(played, out.ttft, step_ctx))
                self._agent.chat_ctx.insert(msg)
                step_ctx.insert(msg)
                speech._add_item(msg)
                self._session._conversation_item_added(msg)
            speech._mark_step_played()

            if tool_task is None:
                return
            if not tool_task.done():
                self._session._update_agent_state("thinking")
                await asyncio.wait([tool_task])
            while speech._task_items:
                step_ctx.insert(speech._task_items.pop(0))
            if not results:
                return
            ev = FunctionToolsExecutedEvent(
                function_calls=[r.call for r in results],
                function_call_outputs=[r.output for r in results if r.output is not None],
            )
            for r in results:
                for item in (r.call, r.output):
                    if item is None:
                        continue
                    self._agent.chat_ctx.insert(item)
                    step_ctx.insert(item)
                    speech._add_item(item)
                    self._session._tool_item_added(item)
            self._session._emit_event("function_tools_executed", ev)

            # a tool hands off by returning an agent or by calling session.handoff(); either
            # way the switch happens here, once the step's outputs are in the history
            new_agents: list[Agent] = []
            for r in results:
                if r.new_agent is not None and not any(a is r.new_agent for a in new_agents):
                    new_agents.append(r.new_agent)
            if len(new_agents) > 1:
                logger.error("several tools picked different agents in one step; no handoff happens")
                new_agents = []
            if new_agents and speech.interrupted:
                logger.info("handoff to %r dropped: the reply was interrupted", new_agents[0])
            elif new_agents:
                self._session._start_handoff(new_agents[0])
                return
            if speech.interrupted or ev._reply_cancelled:
                return
            if not any(r.reply_required for r in results):
                return
            speech._next_step()
            # after max_tool_steps rounds of tools, the LLM must answer in words
            choice = "none" if speech.num_steps > max_steps else "auto"

    def _reply_metrics(
        self, played: _Played, llm_ttft: float | None, ctx: ChatContext | None = None
    ) -> dict[str, Any]:
        """Per-turn latency recorded on the assistant message."""
        metrics: dict[str, Any] = {}
        if llm_ttft is not None:
            metrics["llm_node_ttft"] = llm_ttft
        if played.tts_ttfb is not None:
            metrics["tts_node_ttfb"] = played.tts_ttfb
        if played.speaking_at is not None:
            metrics["started_speaking_at"] = played.speaking_at
            metrics["stopped_speaking_at"] = time.time()
            user = next((m for m in reversed(ctx.messages()) if m.role == "user"), None) if ctx else None
            stopped = user.metrics.get("stopped_speaking_at") if user is not None else None
            if stopped:
                metrics["e2e_latency"] = played.speaking_at - stopped
        return metrics

    async def _run_tools(
        self,
        speech: SpeechHandle,
        tool_ctx: ToolContext,
        calls: Chan[FunctionCall],
        results: list[ToolResult],
    ) -> None:
        """Run calls as they stream in, in parallel; ``results`` keeps the LLM's order."""
        tasks: list[asyncio.Task[ToolResult]] = []
        try:
            async for call in calls:
                tasks.append(asyncio.create_task(
                    execute_tool_call(session=self._session, speech=speech, tool_ctx=tool_ctx, call=call),
                    name=f"tool:{call.name}",
                ))
            if tasks:
                await asyncio.wait(tasks)
        finally:
            for t in tasks:
                if not t.done():
                    t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            results.extend(t.result() for t in tasks if not t.cancelled() and t.exception() is None)

    async def _play(
        self,
        speech: SpeechHandle,
        out: LLMOutput,
        *,
        llm_task: asyncio.Task[None] | None = None,
        audio: AsyncIterable[Any] | None = None,
    ) -> _Played:
        """Speak the text of ``out`` (or ``audio``), recording what the user heard."""
        session = self._session
        audio_out = session.output.audio if session.output.audio_enabled else None
        if audio_out is not None and audio is None and self._tts is None:
            logger.warning("no TTS: the reply is sent as text only")
            audio_out = None
        text_out = session.output.transcription if session.output.transcription_enabled else None
        settings = ModelSettings()
        tracker = PlayoutTracker()
        started_at = time.time()
        first_output = asyncio.Event()
        marks: dict[str, float] = {}

        tts_in: Chan[str] = Chan()
        tasks: list[asyncio.Task[Any]] = []

        async def split_text() -> None:
            tr_in: Chan[str] = Chan()

            async def transcript() -> None:
                async for delta in self._agent.transcription_node(tr_in, settings):
                    tracker.push_text(delta)
                    if audio_out is None and delta.strip():
                        first_output.set()
                tracker.text_done = True

            tr_task = asyncio.create_task(transcript())
            try:
                async for delta in out.text_ch:
                    tr_in.send_nowait(delta)
                    if audio_out is not None and audio is None:
                        marks.setdefault("tts_text", time.perf_counter())
                        tts_in.send_nowait(delta)
            finally:
                tr_in.close()
                tts_in.close()
                await tr_task

        tasks.append(asyncio.create_task(split_text(), name="split_text"))

        if audio_out is not None:
            def on_started(_: Any) -> None:
                marks.setdefault("tts_audio", time.perf_counter())
                first_output.set()

            audio_out.once("playback_started", on_started)
            frames = audio if audio is not None else self._agent.tts_node(
                apply_text_transforms(tts_in, session.options.tts_text_transforms), settings
            )
            tasks.append(asyncio.create_task(forward_audio(frames, audio_out, tracker), name="forward_audio"))

        stop_text = asyncio.Event()
        text_task = asyncio.create_task(forward_text_synced(
            text_out, tracker, audio_out if getattr(text_out, "sync_transcription", True) else None, stop_text
        ))

        async def watch_first_output() -> None:
            await first_output.wait()
            marks["speaking_at"] = time.time()
            session._reset_error_count("llm")
            session._reset_error_count("tts")
            session._update_agent_state("speaking")
            session._emit_event("agent_speech_started", AgentSpeechStartedEvent(speech_id=speech.id))

        watcher = asyncio.create_task(watch_first_output())
        spoke = False
        interrupted = False
        try:
            done_all = asyncio.ensure_future(asyncio.gather(*tasks))
            interrupt = asyncio.ensure_future(speech._wait_for_interrupt())
            await asyncio.wait([done_all, interrupt], return_when=asyncio.FIRST_COMPLETED)
            if done_all.done() and not interrupt.done():
                done_all.result()  # re-raise a TTS/LLM failure
                if audio_out is not None:
                    playout = asyncio.ensure_future(audio_out.wait_for_playout())
                    await asyncio.wait([playout, interrupt], return_when=asyncio.FIRST_COMPLETED)
                    playout.cancel()
            interrupt.cancel()
            interrupted = speech.interrupted
            if interrupted:
                if llm_task is not None:
                    llm_task.cancel()
                for t in tasks:
                    t.cancel()
                await asyncio.gather(done_all, return_exceptions=True)
                if audio_out is not None:
                    audio_out.clear_buffer()
                    finished = await audio_out.wait_for_playout()
                    position = finished.playback_position
                    heard = tracker.heard_text(position, interrupted=True)
                else:
                    heard = tracker.text
            else:
                heard = tracker.text
            spoke = first_output.is_set()
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            stop_text.set()
            await asyncio.gather(text_task, return_exceptions=True)
            watcher.cancel()
            await asyncio.gather(watcher, return_exceptions=True)
            if audio_out is not None and "tts_audio" not in marks:
                audio_out.off("playback_started", on_started)
        if spoke:
            session._emit_event(
                "agent_speech_ended",
                AgentSpeechEndedEvent(speech_id=speech.id, text=heard, interrupted=interrupted),
            )
        ttfb = marks["tts_audio"] - marks["tts_text"] if {"tts_audio", "tts_text"} <= marks.keys() else None
        return _Played(heard=heard, interrupted=interrupted, started_at=started_at,
                       speaking_at=marks.get("speaking_at"), tts_ttfb=ttfb)
