"""OpenAI Chat Completions LLM, streamed (also for OpenAI-compatible servers such as Ollama)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from livekit.agents import APIConnectionError, APIConnectOptions, ChatContext
from livekit.agents import llm as _llm
from livekit.agents.llm import (
    ChatChunk,
    ChoiceDelta,
    CompletionUsage,
    FunctionTool,
    FunctionToolCall,
    Tool,
    ToolChoice,
    ToolContext,
)
from livekit.agents.log import logger
from livekit.agents.types import DEFAULT_API_CONNECT_OPTIONS, NOT_GIVEN, NotGivenOr, is_given
from livekit.agents.utils import shortuuid

from ._client import ClientConfig, sdk_errors, to_api_error
from .models import DEFAULT_LLM_MODEL

if TYPE_CHECKING:
    import openai

__all__ = ["LLM", "LLMStream"]

OLLAMA_BASE_URL = "http://localhost:11434/v1"


@dataclass
class _Options:
    model: str
    temperature: NotGivenOr[float]
    top_p: NotGivenOr[float]
    max_completion_tokens: NotGivenOr[int]
    parallel_tool_calls: NotGivenOr[bool]
    tool_choice: NotGivenOr[ToolChoice]
    user: NotGivenOr[str]
    reasoning_effort: NotGivenOr[str]
    service_tier: NotGivenOr[str]
    timeout: float | None
    extra_body: dict[str, Any] = field(default_factory=dict)


class LLM(_llm.LLM):
    """A chat model served by OpenAI's Chat Completions API, or by any compatible server.

    The API key comes from ``api_key`` or ``OPENAI_API_KEY``; the server from ``base_url`` or
    ``OPENAI_BASE_URL`` (default ``https://api.openai.com/v1``). A server other than OpenAI's
    (Ollama, vLLM, LM Studio, ...) needs no key. ``timeout`` overrides the per-request timeout
    of the session's ``conn_options``; ``extra_body`` adds fields to every request body
    (server-specific options).
    """

    def __init__(
        self,
        *,
        model: str = DEFAULT_LLM_MODEL,
        api_key: str | None = None,
        base_url: str | None = None,
        client: openai.AsyncOpenAI | None = None,
        temperature: NotGivenOr[float] = NOT_GIVEN,
        top_p: NotGivenOr[float] = NOT_GIVEN,
        max_completion_tokens: NotGivenOr[int] = NOT_GIVEN,
        parallel_tool_calls: NotGivenOr[bool] = NOT_GIVEN,
        tool_choice: NotGivenOr[ToolChoice] = NOT_GIVEN,
        user: NotGivenOr[str] = NOT_GIVEN,
        reasoning_effort: NotGivenOr[str] = NOT_GIVEN,
        service_tier: NotGivenOr[str] = NOT_GIVEN,
        timeout: float | None = None,
        extra_body: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        if not model:
            raise ValueError("model must be a non-empty model id, e.g. 'gpt-4o-mini'")
        if timeout is not None and timeout <= 0:
            raise ValueError(f"timeout must be > 0, got {timeout}")
        if client is not None:
            self._config = ClientConfig(api_key=str(client.api_key), base_url=str(client.base_url))
            self._client = client
            self._owns_client = False
        else:
            self._config = ClientConfig.resolve(
                api_key=api_key, base_url=base_url, what="openai.LLM"
            )
            self._client = self._config.create_client()
            self._owns_client = True
        self._opts = _Options(
            model=model,
            temperature=temperature,
            top_p=top_p,
            max_completion_tokens=max_completion_tokens,
            parallel_tool_calls=parallel_tool_calls,
            tool_choice=tool_choice,
            user=user,
            reasoning_effort=reasoning_effort,
            service_tier=service_tier,
            timeout=timeout,
            extra_body=dict(extra_body or {}),
        )
        self._prewarm_task: asyncio.Task[None] | None = None

    @classmethod
    def with_ollama(
        cls, *, model: str = "llama3.2", base_url: str = OLLAMA_BASE_URL, **kwargs: Any
    ) -> LLM:
        """An LLM served by a local Ollama (``ollama serve``; ``ollama pull <model>`` first)."""
        kwargs.setdefault("api_key", "ollama")
        return cls(model=model, base_url=base_url, **kwargs)

    @property
    def model(self) -> str:
        return self._opts.model

    @property
    def provider(self) -> str:
        return self._config.provider

    @property
    def base_url(self) -> str:
        return self._config.base_url

    @property
    def client(self) -> openai.AsyncOpenAI:
        return self._client

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
        function_tools = ToolContext(tools or []).flatten()
        request = self._build_request(
            chat_ctx,
            function_tools,
            conn_options=conn_options,
            parallel_tool_calls=parallel_tool_calls
            if is_given(parallel_tool_calls)
            else self._opts.parallel_tool_calls,
            tool_choice=tool_choice if is_given(tool_choice) else self._opts.tool_choice,
            extra=extra_kwargs if is_given(extra_kwargs) else {},
        )
        return LLMStream(
            self, chat_ctx=chat_ctx, tools=tools, conn_options=conn_options, request=request
        )

    def _build_request(
        self,
        chat_ctx: ChatContext,
        tools: list[FunctionTool],
        *,
        conn_options: APIConnectOptions,
        parallel_tool_calls: NotGivenOr[bool],
        tool_choice: NotGivenOr[ToolChoice],
        extra: dict[str, Any],
    ) -> dict[str, Any]:
        opts = self._opts
        messages, _ = chat_ctx.to_provider_format("openai")
        request: dict[str, Any] = {
            "model": opts.model,
            "messages": messages,
            "stream": True,
            "stream_options": {"include_usage": True},
            "timeout": opts.timeout or conn_options.timeout,
        }
        if tools:
            request["tools"] = [tool_schema(t) for t in tools]
            if is_given(tool_choice):
                request["tool_choice"] = tool_choice
            if is_given(parallel_tool_calls):
                request["parallel_tool_calls"] = parallel_tool_calls
        for key in (
            "temperature",
            "top_p",
            "max_completion_tokens",
            "user",
            "reasoning_effort",
            "service_tier",
        ):
            value = getattr(opts, key)
            if is_given(value):
                request[key] = value
        extra_body = {**opts.extra_body, **extra}
        if extra_body:
            request["extra_body"] = extra_body
        return request

    def prewarm(self) -> None:
        """Open the HTTP connection ahead of the first request (``GET /models``)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        if self._prewarm_task is None:
            self._prewarm_task = loop.create_task(self._prewarm())

    async def _prewarm(self) -> None:
        try:
            await self._client.models.list(timeout=10.0)
        except Exception as e:  # only a warm-up: the first request reports real problems
            logger.debug("openai.LLM prewarm failed: %s", type(e).__name__)

    async def aclose(self) -> None:
        if self._prewarm_task is not None:
            self._prewarm_task.cancel()
            await asyncio.gather(self._prewarm_task, return_exceptions=True)
            self._prewarm_task = None
        if self._owns_client:
            await self._client.close()


def tool_schema(tool: FunctionTool) -> dict[str, Any]:
    """A tool in Chat Completions form (``raw_schema`` tools are sent as given)."""
    return {"type": "function", "function": tool.schema()}


@dataclass
class _PendingCall:
    index: int
    call_id: str = ""
    name: str = ""
    arguments: str = ""


class LLMStream(_llm.LLMStream):
    """One streamed chat completion."""

    def __init__(
        self,
        llm: LLM,
        *,
        chat_ctx: ChatContext,
        tools: list[Tool] | None,
        conn_options: APIConnectOptions,
        request: dict[str, Any],
    ) -> None:
        super().__init__(llm, chat_ctx=chat_ctx, tools=tools, conn_options=conn_options)
        self._openai = llm
        self._request = request

    async def _run(self) -> None:
        llm = self._openai
        state = _StreamState()
        try:
            stream = await llm.client.chat.completions.create(**self._request)
            async with stream:
                async for chunk in stream:
                    self._on_chunk(chunk, state)
        except sdk_errors() as e:
            raise to_api_error(e, label=llm._config.label, api_key=llm._config.api_key) from e
        self._send_calls(state)
        tail = state.think.flush()
        if tail:
            self._send_text(state.request_id, tail)
        if not state.finished:
            raise APIConnectionError(
                f"{llm._config.label} closed the stream before the reply was complete"
            )

    def _on_chunk(self, chunk: Any, state: _StreamState) -> None:
        state.request_id = chunk.id or state.request_id
        usage = getattr(chunk, "usage", None)
        if usage is not None:
            details = getattr(usage, "prompt_tokens_details", None)
            cached = getattr(details, "cached_tokens", None) if details is not None else None
            self._event_ch.send_nowait(
                ChatChunk(
                    id=state.request_id,
                    usage=CompletionUsage(
                        completion_tokens=usage.completion_tokens or 0,
                        prompt_tokens=usage.prompt_tokens or 0,
                        total_tokens=usage.total_tokens or 0,
                        prompt_cached_tokens=cached or 0,
                    ),
                )
            )
            state.finished = state.finished or not chunk.choices
        for choice in chunk.choices or ():
            delta = choice.delta
            if delta is not None:
                for tc in delta.tool_calls or ():
                    state.add_fragment(tc)
                if delta.content:
                    text = state.think.feed(delta.content)
                    if text:
                        self._send_text(state.request_id, text)
            if choice.finish_reason:
                state.finished = True
                self._send_calls(state)

    def _send_text(self, request_id: str, text: str) -> None:
        self._event_ch.send_nowait(
            ChatChunk(id=request_id, delta=ChoiceDelta(role="assistant", content=text))
        )

    def _send_calls(self, state: _StreamState) -> None:
        for call in state.take_calls():
            if not call.name:
                continue
            self._event_ch.send_nowait(
                ChatChunk(
                    id=state.request_id,
                    delta=ChoiceDelta(
                        role="assistant",
                        tool_calls=[
                            FunctionToolCall(
                                name=call.name,
                                arguments=call.arguments or "{}",
                                call_id=call.call_id or shortuuid("call_"),
                            )
                        ],
                    ),
                )
            )


class _StreamState:
    """Accumulates tool-call fragments by index; tracks completion."""

    def __init__(self) -> None:
        self.request_id = ""
        self.finished = False
        self.think = _ThinkFilter()
        self._calls: dict[int, _PendingCall] = {}
        self._last: int | None = None

    def add_fragment(self, tc: Any) -> None:
        index = getattr(tc, "index", None)
        call_id = getattr(tc, "id", None) or ""
        if index is None:
            # some compatible servers omit the index: a new id starts a new call
            last = self._calls.get(self._last) if self._last is not None else None
            if last is None or (call_id and call_id != last.call_id):
                index = max(self._calls, default=-1) + 1
            else:
                index = last.index
        call = self._calls.get(index)
        if call is None:
            call = self._calls[index] = _PendingCall(index=index)
        self._last = index
        if call_id and not call.call_id:
            call.call_id = call_id
        fn = getattr(tc, "function", None)
        if fn is not None:
            if fn.name and not call.name:
                call.name = fn.name
            if fn.arguments:
                call.arguments += fn.arguments

    def take_calls(self) -> list[_PendingCall]:
        calls = [self._calls[i] for i in sorted(self._calls)]
        self._calls.clear()
        self._last = None
        return calls


class _ThinkFilter:
    """Drops a leading ``<think>...</think>`` block (reasoning models on compatible servers).

    Speaking a model's private reasoning aloud is never wanted in a voice agent.
    """

    _OPEN = "<think>"
    _CLOSE = "</think>"

    def __init__(self) -> None:
        self._state = "start"  # start -> thinking -> text, or start -> text
        self._buf = ""

    def feed(self, text: str) -> str:
        if self._state == "text":
            return text
        self._buf += text
        if self._state == "start":
            head = self._buf.lstrip()
            if len(head) < len(self._OPEN) and self._OPEN.startswith(head):
                return ""  # maybe the start of the tag: wait for more
            if not head.startswith(self._OPEN):
                self._state = "text"
                out, self._buf = self._buf, ""
                return out
            self._state = "thinking"
            self._buf = head[len(self._OPEN) :]
        end = self._buf.find(self._CLOSE)
        if end < 0:
            self._buf = self._buf[-len(self._CLOSE) :]
            return ""
        out = self._buf[end + len(self._CLOSE) :].lstrip()
        self._state = "text"
        self._buf = ""
        return out

    def flush(self) -> str:
        out = self._buf if self._state == "start" else ""
        self._buf = ""
        return out
