"""``Agent``: instructions, tools, optional model overrides, lifecycle hooks and pipeline nodes."""

from __future__ import annotations

import re
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import registry
from ..llm import ChatContext, ChatMessage, FunctionTool, StopResponse, Tool, find_function_tools
from ..llm.chat_context import INSTRUCTIONS_ID
from ..types import NOT_GIVEN, NotGivenOr, is_given

if TYPE_CHECKING:
    from livekit import rtc

    from ..llm import LLM, ChatChunk, ToolChoice
    from ..stt import STT, SpeechEvent
    from ..tts import TTS
    from ..turn import TurnDetector
    from ..vad import VAD
    from .agent_session import AgentSession

__all__ = ["Agent", "ModelSettings", "StopResponse"]


@dataclass
class ModelSettings:
    """Settings passed to the pipeline nodes for one generation."""

    tool_choice: NotGivenOr[ToolChoice] = NOT_GIVEN


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


class Agent:
    """What the agent is: instructions, tools and (optionally) its own models.

    Subclass it to add ``@function_tool`` methods and the hooks :meth:`on_enter`,
    :meth:`on_exit` and :meth:`on_user_turn_completed`; override the pipeline nodes
    (:meth:`stt_node`, :meth:`llm_node`, :meth:`tts_node`, :meth:`transcription_node`) to
    change how a turn is processed. Models given here override the session's for as long as
    this agent is active; provider strings are resolved now, so a typo fails at once.
    """

    def __init__(
        self,
        *,
        instructions: str,
        chat_ctx: ChatContext | None = None,
        tools: list[Tool | Any] | None = None,
        mcp_servers: list[Any] | None = None,
        stt: NotGivenOr[STT | str | None] = NOT_GIVEN,
        vad: NotGivenOr[VAD | str | None] = NOT_GIVEN,
        llm: NotGivenOr[LLM | str | None] = NOT_GIVEN,
        tts: NotGivenOr[TTS | str | None] = NOT_GIVEN,
        turn_detection: NotGivenOr[TurnDetector | str | None] = NOT_GIVEN,
        allow_interruptions: NotGivenOr[bool] = NOT_GIVEN,
        min_endpointing_delay: NotGivenOr[float] = NOT_GIVEN,
        max_endpointing_delay: NotGivenOr[float] = NOT_GIVEN,
        id: str | None = None,
    ) -> None:
        if not isinstance(instructions, str):
            raise TypeError(f"instructions must be a str, got {type(instructions).__name__}")
        self._instructions = instructions
        self._id = id or ("default_agent" if type(self) is Agent else _snake(type(self).__name__))
        self._chat_ctx = chat_ctx.copy() if chat_ctx is not None else ChatContext.empty()
        self._chat_ctx_given = chat_ctx is not None
        own = find_function_tools(self)
        self._tools: list[Any] = [*(tools or []), *[t for t in own if t not in (tools or [])]]
        for t in self._tools:
            if not isinstance(t, Tool):
                raise TypeError(
                    f"unsupported tool {t!r}: decorate functions with @function_tool or pass a Toolset"
                )
        self._mcp_servers = [registry.resolve("mcp", s) for s in (mcp_servers or [])]
        self._stt = registry.resolve("stt", stt) if isinstance(stt, str) else stt
        self._vad = registry.resolve("vad", vad) if isinstance(vad, str) else vad
        self._llm = registry.resolve("llm", llm) if isinstance(llm, str) else llm
        self._tts = registry.resolve("tts", tts) if isinstance(tts, str) else tts
        from .turn_detection import resolve_turn_detection

        self._turn_detection = (
            resolve_turn_detection(turn_detection) if is_given(turn_detection) else NOT_GIVEN
        )
        self._allow_interruptions = allow_interruptions
        self._min_endpointing_delay = min_endpointing_delay
        self._max_endpointing_delay = max_endpointing_delay
        self._activity: Any = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(id={self._id!r})"

    # -- properties -----------------------------------------------------------------------

    @property
    def id(self) -> str:
        return self._id

    @property
    def label(self) -> str:
        return f"{type(self).__module__}.{type(self).__qualname__}"

    @property
    def instructions(self) -> str:
        return self._instructions

    @property
    def tools(self) -> list[Any]:
        """The agent's tools. The list is live: appending a tool makes it available from the
        next LLM call on, including while the agent is running."""
        return self._tools

    @property
    def chat_ctx(self) -> ChatContext:
        """The agent's own conversation (instructions, messages, tool calls)."""
        return self._chat_ctx

    @property
    def mcp_servers(self) -> list[Any]:
        return self._mcp_servers

    @property
    def stt(self) -> NotGivenOr[STT | None]:
        return self._stt

    @property
    def vad(self) -> NotGivenOr[VAD | None]:
        return self._vad

    @property
    def llm(self) -> NotGivenOr[LLM | None]:
        return self._llm

    @property
    def tts(self) -> NotGivenOr[TTS | None]:
        return self._tts

    @property
    def turn_detection(self) -> Any:
        return self._turn_detection

    @property
    def allow_interruptions(self) -> NotGivenOr[bool]:
        return self._allow_interruptions

    @property
    def session(self) -> AgentSession[Any]:
        """The session running this agent (raises when the agent is not running)."""
        if self._activity is None:
            raise RuntimeError(f"{self!r} is not running in a session")
        return self._activity.session  # type: ignore[no-any-return]

    # -- live updates ---------------------------------------------------------------------

    async def update_instructions(self, instructions: str) -> None:
        """Replace the instructions (takes effect from the next LLM call)."""
        self._instructions = instructions
        self._sync_instructions()

    async def update_tools(self, tools: list[Any]) -> None:
        """Replace the tools (takes effect from the next LLM call)."""
        for t in tools:
            if not isinstance(t, Tool):
                raise TypeError(f"unsupported tool {t!r}")
        self._tools[:] = list(tools)

    async def update_chat_ctx(self, chat_ctx: ChatContext) -> None:
        """Replace the agent's conversation (its instructions are kept)."""
        self._chat_ctx = chat_ctx.copy()
        self._sync_instructions()

    def _sync_instructions(self) -> None:
        """Keep the instructions as the first system message of the agent's context."""
        existing = self._chat_ctx.get_by_id(INSTRUCTIONS_ID)
        if isinstance(existing, ChatMessage):
            existing.content = [self._instructions]
            return
        msg = ChatMessage(role="system", content=[self._instructions], id=INSTRUCTIONS_ID)
        first = self._chat_ctx.items[0].created_at if self._chat_ctx.items else msg.created_at
        msg.created_at = min(first, msg.created_at)
        self._chat_ctx.items.insert(0, msg)

    # -- hooks ----------------------------------------------------------------------------

    async def on_enter(self) -> None:
        """Called when the agent becomes active (session start, or after a handoff)."""

    async def on_exit(self) -> None:
        """Called when the agent stops being active (handoff or session close)."""

    async def on_user_turn_completed(self, turn_ctx: ChatContext, new_message: ChatMessage) -> None:
        """Called when the user finished a turn, before the reply is generated.

        ``turn_ctx`` is a copy of the conversation; edit it or ``new_message`` to change what
        the LLM sees. Raise :class:`StopResponse` to skip the reply.
        """

    # -- pipeline nodes -------------------------------------------------------------------

    async def stt_node(
        self, audio: AsyncIterable[rtc.AudioFrame], model_settings: ModelSettings
    ) -> AsyncIterator[SpeechEvent]:
        """Audio in, speech events out. Default: the active STT (batch STTs use the VAD)."""
        async for ev in Agent.default.stt_node(self, audio, model_settings):
            yield ev

    async def llm_node(
        self, chat_ctx: ChatContext, tools: list[FunctionTool], model_settings: ModelSettings
    ) -> AsyncIterator[ChatChunk | str]:
        """Conversation in, text and tool calls out. Default: the active LLM."""
        async for chunk in Agent.default.llm_node(self, chat_ctx, tools, model_settings):
            yield chunk

    async def tts_node(
        self, text: AsyncIterable[str], model_settings: ModelSettings
    ) -> AsyncIterator[rtc.AudioFrame]:
        """Text in, audio out. Default: the active TTS (batch TTSs go sentence by sentence)."""
        async for frame in Agent.default.tts_node(self, text, model_settings):
            yield frame

    async def transcription_node(
        self, text: AsyncIterable[str], model_settings: ModelSettings
    ) -> AsyncIterator[str]:
        """The transcript shown to the user. Default: the text unchanged."""
        async for delta in text:
            yield delta

    class default:
        """The default node implementations, callable from overrides."""

        @staticmethod
        async def stt_node(
            agent: Agent, audio: AsyncIterable[rtc.AudioFrame], model_settings: ModelSettings
        ) -> AsyncIterator[SpeechEvent]:
            activity = agent._require_activity()
            stt = activity.streaming_stt()
            if stt is None:
                return
            import asyncio

            stream = stt.stream(conn_options=activity.session.conn_options.stt)

            async def forward() -> None:
                async for frame in audio:
                    stream.push_frame(frame)
                stream.end_input()

            task = asyncio.create_task(forward())
            try:
                async for ev in stream:
                    yield ev
            finally:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
                await stream.aclose()

        @staticmethod
        async def llm_node(
            agent: Agent,
            chat_ctx: ChatContext,
            tools: list[FunctionTool],
            model_settings: ModelSettings,
        ) -> AsyncIterator[ChatChunk | str]:
            activity = agent._require_activity()
            llm = activity.llm
            if llm is None:
                raise RuntimeError("no LLM: pass llm=... to the AgentSession or the Agent")
            kwargs: dict[str, Any] = {}
            if is_given(model_settings.tool_choice):
                kwargs["tool_choice"] = model_settings.tool_choice
            async with llm.chat(
                chat_ctx=chat_ctx,
                tools=list(tools),
                conn_options=activity.session.conn_options.llm,
                **kwargs,
            ) as stream:
                async for chunk in stream:
                    yield chunk

        @staticmethod
        async def tts_node(
            agent: Agent, text: AsyncIterable[str], model_settings: ModelSettings
        ) -> AsyncIterator[rtc.AudioFrame]:
            import asyncio

            activity = agent._require_activity()
            tts = activity.streaming_tts()
            if tts is None:
                return
            stream = tts.stream(conn_options=activity.session.conn_options.tts)

            async def forward() -> None:
                async for delta in text:
                    stream.push_text(delta)
                stream.end_input()

            task = asyncio.create_task(forward())
            try:
                async for audio in stream:
                    yield audio.frame
                await task
            finally:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
                await stream.aclose()

    def _require_activity(self) -> Any:
        if self._activity is None:
            raise RuntimeError(f"{self!r} is not running in a session")
        return self._activity
