"""The stages of one agent reply: LLM output, TTS, forwarding to outputs, tool execution."""

from __future__ import annotations

import asyncio
import inspect
import json
import time
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..llm import ChatChunk, FunctionCall, FunctionCallOutput, StopResponse, ToolError
from ..log import logger
from ..utils.aio import Chan
from ..utils.misc import shortuuid
from .speech_handle import _current_tool_call, _current_tool_speech, _ToolCallScope

if TYPE_CHECKING:
    from livekit import rtc

    from ..llm import FunctionTool, ToolContext
    from .agent import Agent
    from .agent_session import AgentSession
    from .io import AudioOutput, TextOutput
    from .speech_handle import SpeechHandle

__all__ = ["LLMOutput", "PlayoutTracker", "ToolResult", "execute_tool_call", "read_llm_output"]


@dataclass
class LLMOutput:
    """What one LLM generation produced, filled in while it streams."""

    text_ch: Chan[str] = field(default_factory=Chan)
    function_calls: list[FunctionCall] = field(default_factory=list)
    function_ch: Chan[FunctionCall] = field(default_factory=Chan)
    text: str = ""
    started_at: float = field(default_factory=time.perf_counter)
    first_token_at: float | None = None
    id: str = field(default_factory=lambda: shortuuid("item_"))

    @property
    def ttft(self) -> float | None:
        return None if self.first_token_at is None else self.first_token_at - self.started_at


async def read_llm_output(node_output: Any, out: LLMOutput) -> None:
    """Drain an ``llm_node`` result (str, ChatChunk, or an async iterable of either)."""
    try:
        if inspect.isawaitable(node_output):
            node_output = await node_output
        if node_output is None:
            return
        if isinstance(node_output, (str, ChatChunk)):
            _take(node_output, out)
            return
        async for item in node_output:
            _take(item, out)
    finally:
        out.text_ch.close()
        out.function_ch.close()


def _take(item: Any, out: LLMOutput) -> None:
    if isinstance(item, str):
        text = item
        calls: list[Any] = []
    elif isinstance(item, ChatChunk):
        text = (item.delta.content or "") if item.delta else ""
        calls = list(item.delta.tool_calls) if item.delta else []
    else:
        raise TypeError(f"llm_node yielded {type(item).__name__}; expected str or ChatChunk")
    if (text or calls) and out.first_token_at is None:
        out.first_token_at = time.perf_counter()
    if text:
        out.text += text
        out.text_ch.send_nowait(text)
    for tc in calls:
        call = FunctionCall(
            call_id=tc.call_id or shortuuid("call_"),
            name=tc.name,
            arguments=tc.arguments,
            id=f"{out.id}/fnc_{len(out.function_calls)}",
            extra=dict(tc.extra or {}),
        )
        out.function_calls.append(call)
        out.function_ch.send_nowait(call)


class PlayoutTracker:
    """Maps played audio back to text, to know what the user heard.

    Text pushed to the TTS and audio coming out of it are counted; when playback stops at a
    position, the heard text is the share of the text proportional to the share of audio
    played (the whole text once everything played), cut back to a word boundary.
    """

    def __init__(self) -> None:
        self.text = ""
        self.audio_duration = 0.0
        self.text_done = False
        self.audio_done = False

    def push_text(self, delta: str) -> None:
        self.text += delta

    def push_audio(self, duration: float) -> None:
        self.audio_duration += duration

    def heard_text(self, position: float, *, interrupted: bool) -> str:
        if not interrupted:
            return self.text
        if self.audio_duration <= 0 or position <= 0:
            return ""
        ratio = min(1.0, position / self.audio_duration)
        if ratio >= 0.999 and self.audio_done:
            return self.text
        n = int(len(self.text) * ratio)
        if n >= len(self.text):
            return self.text
        cut = self.text[:n]
        # end on a word boundary: drop a partially heard word
        if n < len(self.text) and not self.text[n].isspace():
            space = cut.rfind(" ")
            cut = cut[:space] if space >= 0 else ""
        return cut.rstrip()


async def forward_text_synced(
    text_output: TextOutput | None,
    tracker: PlayoutTracker,
    audio_output: AudioOutput | None,
    stop: asyncio.Event,
) -> None:
    """Release the transcript word by word as the audio plays (or at once without audio)."""
    if text_output is None:
        return
    sent = 0
    try:
        while True:
            if audio_output is None:
                target = len(tracker.text)
            else:
                target = len(tracker.heard_text(audio_output.playback_position, interrupted=True))
            if target > sent:
                await text_output.capture_text(tracker.text[sent:target])
                sent = target
            if stop.is_set():
                break
            try:
                await asyncio.wait_for(stop.wait(), 0.05)
            except asyncio.TimeoutError:
                pass
    finally:
        text_output.flush()


async def forward_audio(
    frames: AsyncIterable[rtc.AudioFrame],
    audio_output: AudioOutput,
    tracker: PlayoutTracker,
) -> None:
    """Resample if the output needs it, capture frames, and end the segment."""
    from ..utils.audio import AudioConverter

    converter = AudioConverter(audio_output.sample_rate, 1) if audio_output.sample_rate else None
    try:
        async for frame in frames:
            outs = converter.push(frame) if converter else [frame]
            for f in outs:
                tracker.push_audio(f.duration)
                await audio_output.capture_frame(f)
        if converter:
            for f in converter.flush():
                tracker.push_audio(f.duration)
                await audio_output.capture_frame(f)
        tracker.audio_done = True
    finally:
        audio_output.flush()


async def tee_text(source: AsyncIterable[str], tracker: PlayoutTracker) -> AsyncIterator[str]:
    async for delta in source:
        tracker.push_text(delta)
        yield delta
    tracker.text_done = True


@dataclass
class ToolResult:
    call: FunctionCall
    output: FunctionCallOutput | None
    new_agent: Agent | None = None
    reply_required: bool = True


async def execute_tool_call(
    *,
    session: AgentSession[Any],
    speech: SpeechHandle,
    tool_ctx: ToolContext,
    call: FunctionCall,
) -> ToolResult:
    """Run one tool call; every failure becomes an error output for the LLM, never a crash.

    A ``session.handoff(agent)`` (or ``update_agent``) made by the tool is deferred to the end
    of the tool step: it becomes the result's ``new_agent``, as if the tool had returned the
    agent (an agent the tool does return wins, being its last word). The handoff holds even if
    the tool then fails; it is lost only if the tool is cancelled (the reply was interrupted).
    """
    scope = _ToolCallScope(speech, call)
    token = _current_tool_call.set(scope)
    try:
        result = await _execute_tool_call(session=session, speech=speech, tool_ctx=tool_ctx, call=call)
    finally:
        scope.open = False
        _current_tool_call.reset(token)
    if scope.handoff is not None:
        if result.new_agent is None:
            result.new_agent = scope.handoff
            result.reply_required = False
        elif result.new_agent is not scope.handoff:
            logger.debug(
                "tool %s called session.handoff(%r) but returned %r: the returned agent wins",
                call.name, scope.handoff, result.new_agent,
            )
    return result


async def _execute_tool_call(
    *,
    session: AgentSession[Any],
    speech: SpeechHandle,
    tool_ctx: ToolContext,
    call: FunctionCall,
) -> ToolResult:
    from ..llm._schema import ToolArgumentsError, parse_arguments
    from .agent import Agent
    from .run_context import RunContext

    tool = tool_ctx.get_function_tool(call.name)
    if tool is None:
        available = ", ".join(sorted(tool_ctx.function_tools)) or "none"
        return _error(call, f"Unknown function: {call.name} - available tools: {available}")

    mock = _active_mock(session, tool)
    try:
        sig = tool._signature()
        kwargs = parse_arguments(tool.name, sig, call.arguments)
    except ToolArgumentsError as e:
        logger.warning("invalid arguments for tool %s: %s", tool.name, e.message)
        return _error(call, e.message)
    except Exception as e:
        logger.exception("cannot prepare the arguments of tool %s", tool.name)
        return _error(call, f"Error parsing arguments for `{tool.name}`: {e}")

    ctx = RunContext(session=session, speech_handle=speech, function_call=call)
    for name in sig.context_params:
        kwargs[name] = ctx

    token = _current_tool_speech.set(speech)
    try:
        result = _call_mock(mock, kwargs) if mock is not None else tool(**kwargs)
        if inspect.isawaitable(result):
            result = await result
    except ToolError as e:
        return _error(call, e.message)
    except StopResponse:
        return ToolResult(
            call=call,
            output=FunctionCallOutput(call_id=call.call_id, name=call.name, output="", is_error=False),
            reply_required=False,
        )
    except asyncio.CancelledError:
        raise
    except Exception:
        logger.exception("tool %s raised", tool.name, extra={"arguments": call.arguments})
        return _error(call, "An internal error occurred while running the tool")
    finally:
        _current_tool_speech.reset(token)

    new_agent: Agent | None = None
    value: Any = result
    if isinstance(result, Agent):
        new_agent, value = result, None
    elif isinstance(result, tuple):
        agents = [r for r in result if isinstance(r, Agent)]
        if len(agents) > 1:
            return _error(call, "the tool returned more than one agent")
        if agents:
            new_agent = agents[0]
            rest = [r for r in result if not isinstance(r, Agent)]
            value = rest[0] if len(rest) == 1 else (rest or None)
    try:
        text = _to_output_text(value)
    except TypeError:
        logger.error("tool %s returned %r, which cannot be sent to the LLM", tool.name, type(value))
        return _error(call, "the tool returned an invalid output")
    return ToolResult(
        call=call,
        output=FunctionCallOutput(call_id=call.call_id, name=call.name, output=text, is_error=False),
        new_agent=new_agent,
        reply_required=value is not None and new_agent is None,
    )


def _error(call: FunctionCall, message: str) -> ToolResult:
    return ToolResult(
        call=call,
        output=FunctionCallOutput(call_id=call.call_id, name=call.name, output=message, is_error=True),
    )


def _to_output_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (bool, int, float)):
        return json.dumps(value)
    if isinstance(value, (list, tuple, set, dict)):
        return json.dumps(value if not isinstance(value, set) else sorted(value, key=str))
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return json.dumps(dump(mode="json"))
    raise TypeError(type(value).__name__)


def _active_mock(session: AgentSession[Any], tool: FunctionTool) -> Any:
    from ..testing._mock_tools import lookup_mock

    return lookup_mock(session, tool)


def _call_mock(mock: Any, kwargs: dict[str, Any]) -> Any:
    """Call a mock with the subset of arguments it declares."""
    try:
        params = inspect.signature(mock).parameters
    except (TypeError, ValueError):
        return mock(**kwargs)
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return mock(**kwargs)
    return mock(**{k: v for k, v in kwargs.items() if k in params})
