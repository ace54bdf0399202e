"""The LLM protocol: ``chat()`` returns a stream of chunks (text deltas, tool calls, usage).

A plugin subclasses :class:`LLM` and :class:`LLMStream` and implements ``LLMStream._run``,
which sends :class:`ChatChunk` objects with ``self._event_ch.send_nowait(chunk)``. The base
class retries failed attempts (before any output was sent), reports errors and metrics, and
makes the stream an async iterator.
"""

from __future__ import annotations

import asyncio
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal

from .._exceptions import APIConnectionError, APIError
from .._retry import RetryBudget
from ..log import logger
from ..metrics import LLMMetrics
from ..types import DEFAULT_API_CONNECT_OPTIONS, NOT_GIVEN, APIConnectOptions, NotGivenOr
from ..utils.aio import Chan, cancel_and_wait, next_or_raise
from ..utils.event_emitter import EventEmitter
from ..utils.misc import shortuuid

if TYPE_CHECKING:
    from .chat_context import ChatContext, ChatRole
    from .tool_context import Tool, ToolChoice

__all__ = [
    "LLM",
    "ChatChunk",
    "ChoiceDelta",
    "CollectedResponse",
    "CompletionUsage",
    "FunctionToolCall",
    "LLMError",
    "LLMStream",
]


@dataclass
class FunctionToolCall:
    name: str
    arguments: str
    call_id: str
    type: Literal["function"] = "function"
    extra: dict[str, Any] | None = None


@dataclass
class ChoiceDelta:
    role: ChatRole | None = None
    content: str | None = None
    tool_calls: list[FunctionToolCall] = field(default_factory=list)
    extra: dict[str, Any] | None = None


@dataclass
class CompletionUsage:
    completion_tokens: int
    prompt_tokens: int
    total_tokens: int
    prompt_cached_tokens: int = 0


@dataclass
class ChatChunk:
    id: str
    delta: ChoiceDelta | None = None
    usage: CompletionUsage | None = None

    def has_response(self) -> bool:
        return self.delta is not None and bool(self.delta.content or self.delta.tool_calls)


@dataclass
class CollectedResponse:
    text: str = ""
    tool_calls: list[FunctionToolCall] = field(default_factory=list)
    usage: CompletionUsage | None = None


@dataclass
class LLMError:
    """Payload of an LLM's ``error`` event."""

    error: Exception
    recoverable: bool
    label: str = ""
    timestamp: float = field(default_factory=time.time)
    type: Literal["llm_error"] = "llm_error"


class LLM(EventEmitter[Literal["metrics_collected", "error"]], ABC):
    """Base class of language models. Emits ``metrics_collected`` and ``error``."""

    def __init__(self) -> None:
        super().__init__()
        self._label = f"{type(self).__module__}.{type(self).__name__}"

    @property
    def label(self) -> str:
        return self._label

    @property
    def model(self) -> str:
        return "unknown"

    @property
    def provider(self) -> str:
        return "unknown"

    @abstractmethod
    def chat(
        self,
        *,
        chat_ctx: ChatContext,
        tools: list[Tool] | None = None,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
        parallel_tool_calls: NotGivenOr[bool] = NOT_GIVEN,
        tool_choice: NotGivenOr[ToolChoice] = NOT_GIVEN,
        extra_kwargs: NotGivenOr[dict[str, Any]] = NOT_GIVEN,
    ) -> LLMStream:
        """Start generating a reply to ``chat_ctx``; iterate the returned stream for chunks."""

    def prewarm(self) -> None:
        """Open connections ahead of the first request (optional)."""

    async def aclose(self) -> None:
        """Release connections and background tasks."""

    async def __aenter__(self) -> LLM:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model={self.model!r})"


class _ChunkChan(Chan[ChatChunk]):
    """The plugin-facing channel; it notes when output first appears and the last usage."""

    def __init__(self) -> None:
        super().__init__()
        self.sent_response = False
        self.first_response_at: float | None = None
        self.usage: CompletionUsage | None = None
        self.request_id = ""

    def send_nowait(self, item: ChatChunk) -> None:
        if item.has_response() and self.first_response_at is None:
            self.first_response_at = time.perf_counter()
            self.sent_response = True
        if item.usage is not None:
            self.usage = item.usage
        if not self.request_id and item.id:
            self.request_id = item.id
        super().send_nowait(item)


class LLMStream(ABC):
    """One generation. Iterate it for :class:`ChatChunk` objects; close it to cancel."""

    def __init__(
        self,
        llm: LLM,
        *,
        chat_ctx: ChatContext,
        tools: list[Tool] | None,
        conn_options: APIConnectOptions,
    ) -> None:
        self._llm = llm
        self._chat_ctx = chat_ctx
        self._tools = list(tools or [])
        self._conn_options = conn_options
        self._event_ch = _ChunkChan()
        self._started_at = time.perf_counter()
        self._closed = False
        self._task = asyncio.get_running_loop().create_task(
            self._main_task(), name=f"{type(self).__name__}._main_task"
        )

    @property
    def chat_ctx(self) -> ChatContext:
        return self._chat_ctx

    @property
    def tools(self) -> list[Tool]:
        return self._tools

    @abstractmethod
    async def _run(self) -> None:
        """Talk to the provider and send chunks to ``self._event_ch``; raise APIError on failure."""

    async def _main_task(self) -> None:
        budget = RetryBudget(self._conn_options)
        cancelled = False
        try:
            while True:
                try:
                    await self._run()
                    break
                except APIError as e:
                    delay = None if self._event_ch.sent_response else budget.next_delay(e)
                    if delay is None:
                        self._report(e, recoverable=False)
                        raise
                    self._report(e, recoverable=True)
                    logger.warning(
                        "%s failed, retrying in %.1fs (attempt %d of %d): %s",
                        self._llm.label, delay, budget.retries + 1,
                        self._conn_options.max_retry + 1, e,
                    )
                    await asyncio.sleep(delay)
                except asyncio.TimeoutError as e:
                    err = APIConnectionError(f"{self._llm.label}: request timed out")
                    delay = None if self._event_ch.sent_response else budget.next_delay(err)
                    if delay is None:
                        self._report(err, recoverable=False)
                        raise err from e
                    self._report(err, recoverable=True)
                    await asyncio.sleep(delay)
        except asyncio.CancelledError:
            cancelled = True
            raise
        finally:
            self._event_ch.close()
            self._emit_metrics(cancelled=cancelled)

    def _report(self, error: Exception, *, recoverable: bool) -> None:
        self._llm.emit("error", LLMError(error=error, recoverable=recoverable, label=self._llm.label))

    def _emit_metrics(self, *, cancelled: bool) -> None:
        ch = self._event_ch
        now = time.perf_counter()
        duration = now - self._started_at
        ttft = (ch.first_response_at - self._started_at) if ch.first_response_at else -1.0
        usage = ch.usage
        completion = usage.completion_tokens if usage else 0
        self._llm.emit(
            "metrics_collected",
            LLMMetrics(
                label=self._llm.label,
                request_id=ch.request_id or shortuuid("req_"),
                duration=duration,
                ttft=ttft,
                cancelled=cancelled,
                completion_tokens=completion,
                prompt_tokens=usage.prompt_tokens if usage else 0,
                prompt_cached_tokens=usage.prompt_cached_tokens if usage else 0,
                total_tokens=usage.total_tokens if usage else 0,
                tokens_per_second=completion / duration if duration > 0 else 0.0,
                model=self._llm.model,
                provider=self._llm.provider,
            ),
        )

    def __aiter__(self) -> AsyncIterator[ChatChunk]:
        return self

    async def __anext__(self) -> ChatChunk:
        return await next_or_raise(self._event_ch, self._task)

    async def aclose(self) -> None:
        """Cancel the generation (if still running) and wait for it to stop."""
        self._closed = True
        await cancel_and_wait(self._task)

    async def __aenter__(self) -> LLMStream:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def to_str_iterable(self) -> AsyncIterator[str]:
        async for chunk in self:
            if chunk.delta and chunk.delta.content:
                yield chunk.delta.content

    async def collect(self) -> CollectedResponse:
        """Read the whole stream: the text, the tool calls and the usage."""
        out = CollectedResponse()
        parts: list[str] = []
        async with self:
            async for chunk in self:
                if chunk.delta:
                    if chunk.delta.content:
                        parts.append(chunk.delta.content)
                    out.tool_calls.extend(chunk.delta.tool_calls)
                if chunk.usage:
                    out.usage = chunk.usage
        out.text = "".join(parts)
        return out
