"""Claude through the Anthropic Messages API, streamed, with tool use."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

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
from .models import DEFAULT_MODEL, model_id, supports_prefill

if TYPE_CHECKING:
    import anthropic

__all__ = ["LLM", "LLMStream"]

_EPHEMERAL = {"type": "ephemeral"}


@dataclass
class _Options:
    model: str
    max_tokens: int
    temperature: NotGivenOr[float]
    top_p: NotGivenOr[float]
    top_k: NotGivenOr[int]
    parallel_tool_calls: NotGivenOr[bool]
    tool_choice: NotGivenOr[ToolChoice]
    user: NotGivenOr[str]
    caching: Literal["ephemeral"] | None
    timeout: float | None
    extra_body: dict[str, Any] = field(default_factory=dict)


class LLM(_llm.LLM):
    """A Claude model. The key comes from ``api_key`` or ``ANTHROPIC_API_KEY``; the server
    from ``base_url`` or ``ANTHROPIC_BASE_URL`` (default ``https://api.anthropic.com``).

    ``model`` may be a short name (``claude-3-5-sonnet``, mapped to the newest snapshot) or a
    full id. ``max_tokens`` bounds each reply (the API requires it). ``caching="ephemeral"``
    marks the instructions, the tools and the conversation so far for prompt caching.
    ``temperature``, ``top_p``, ``top_k`` and ``extra_body`` are sent as body fields when given.
    ``timeout`` overrides the per-request timeout of the session's ``conn_options``.
    """

    def __init__(
        self,
        *,
        model: str = DEFAULT_MODEL,
        api_key: str | None = None,
        base_url: str | None = None,
        client: anthropic.AsyncAnthropic | None = None,
        max_tokens: int = 1024,
        temperature: NotGivenOr[float] = NOT_GIVEN,
        top_p: NotGivenOr[float] = NOT_GIVEN,
        top_k: NotGivenOr[int] = NOT_GIVEN,
        parallel_tool_calls: NotGivenOr[bool] = NOT_GIVEN,
        tool_choice: NotGivenOr[ToolChoice] = NOT_GIVEN,
        user: NotGivenOr[str] = NOT_GIVEN,
        caching: Literal["ephemeral"] | None = None,
        timeout: float | None = None,
        extra_body: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        if not model:
            raise ValueError("model must be a non-empty model id, e.g. 'claude-3-5-sonnet'")
        if not isinstance(max_tokens, int) or max_tokens < 1:
            raise ValueError(f"max_tokens must be a positive integer, got {max_tokens!r}")
        if timeout is not None and timeout <= 0:
            raise ValueError(f"timeout must be > 0, got {timeout}")
        if caching not in (None, "ephemeral"):
            raise ValueError(f"caching must be None or 'ephemeral', got {caching!r}")
        if client is not None:
            self._config = ClientConfig(
                api_key=str(client.api_key or ""), base_url=str(client.base_url)
            )
            self._client = client
            self._owns_client = False
        else:
            self._config = ClientConfig.resolve(api_key=api_key, base_url=base_url)
            self._client = self._config.create_client()
            self._owns_client = True
        self._opts = _Options(
            model=model_id(model),
            max_tokens=max_tokens,
            temperature=temperature,
            top_p=top_p,
            top_k=top_k,
            parallel_tool_calls=parallel_tool_calls,
            tool_choice=tool_choice,
            user=user,
            caching=caching,
            timeout=timeout,
            extra_body=dict(extra_body or {}),
        )
        self._prewarm_task: asyncio.Task[None] | None = None

    @property
    def model(self) -> str:
        return self._opts.model

    @property
    def provider(self) -> str:
        return "anthropic"

    @property
    def client(self) -> anthropic.AsyncAnthropic:
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
        request = self._build_request(
            chat_ctx,
            ToolContext(tools or []).flatten(),
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
        messages, fmt = chat_ctx.to_provider_format("anthropic")
        if messages and messages[-1]["role"] == "assistant" and not supports_prefill(opts.model):
            # these models cannot continue an assistant turn: ask for the next reply instead
            messages.append({"role": "user", "content": [{"type": "text", "text": "."}]})
        request: dict[str, Any] = {
            "model": opts.model,
            "max_tokens": opts.max_tokens,
            "messages": messages,
            "stream": True,
            "timeout": opts.timeout or conn_options.timeout,
        }
        system_text = fmt.get("system") or ""
        if system_text:
            block: dict[str, Any] = {"type": "text", "text": system_text}
            if opts.caching:
                block["cache_control"] = _EPHEMERAL
            request["system"] = [block]
        if tools:
            schemas = [tool_schema(t) for t in tools]
            if opts.caching:
                schemas[-1]["cache_control"] = _EPHEMERAL
            request["tools"] = schemas
            choice = _tool_choice(tool_choice, parallel_tool_calls)
            if choice is not None:
                request["tool_choice"] = choice
        if opts.caching:
            _mark_conversation_cache(messages)
        if is_given(opts.user):
            request["metadata"] = {"user_id": opts.user}
        body = {
            k: getattr(opts, k)
            for k in ("temperature", "top_p", "top_k")
            if is_given(getattr(opts, k))
        }
        body.update(opts.extra_body)
        body.update(extra)
        if body:
            request["extra_body"] = body
        return request

    def prewarm(self) -> None:
        """Open the HTTP connection ahead of the first request (``GET /v1/models``)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        if self._prewarm_task is None:
            self._prewarm_task = loop.create_task(self._prewarm())

    async def _prewarm(self) -> None:
        try:
            await self._client.models.list(limit=1, timeout=10.0)
        except Exception as e:  # only a warm-up: the first request reports real problems
            logger.debug("anthropic.LLM prewarm failed: %s", type(e).__name__)

    async def aclose(self) -> None:
        if self._prewarm_task is not None:
            self._prewarm_task.cancel()
            await asyncio.gather(self._prewarm_task, return_exceptions=True)
            self._prewarm_task = None
        if self._owns_client:
            await self._client.close()


def tool_schema(tool: FunctionTool) -> dict[str, Any]:
    """A tool in the Messages API form (``name``, ``description``, ``input_schema``)."""
    schema = tool.schema()
    out: dict[str, Any] = {"name": schema["name"], "input_schema": schema["parameters"]}
    if schema.get("description"):
        out["description"] = schema["description"]
    return out


def _tool_choice(
    choice: NotGivenOr[ToolChoice], parallel: NotGivenOr[bool]
) -> dict[str, Any] | None:
    """Map the framework's tool_choice (OpenAI-style) to Anthropic's."""
    out: dict[str, Any] | None
    if not is_given(choice) or choice == "auto":
        out = {"type": "auto"} if is_given(parallel) else None
    elif choice == "required":
        out = {"type": "any"}
    elif choice == "none":
        return {"type": "none"}
    elif isinstance(choice, dict) and (choice.get("function") or {}).get("name"):
        out = {"type": "tool", "name": choice["function"]["name"]}
    else:
        raise ValueError(
            f"unsupported tool_choice {choice!r}: use 'auto', 'required', 'none' or "
            "{'type': 'function', 'function': {'name': ...}}"
        )
    if out is not None and is_given(parallel):
        out["disable_parallel_tool_use"] = not parallel
    return out


def _mark_conversation_cache(messages: list[dict[str, Any]]) -> None:
    """Cache breakpoint on the last block of the conversation (the prefix is reused next turn)."""
    for msg in reversed(messages):
        content = msg.get("content")
        if isinstance(content, list) and content:
            content[-1] = {**content[-1], "cache_control": _EPHEMERAL}
            return


@dataclass
class _PendingCall:
    call_id: str
    name: str
    arguments: str = ""


@dataclass
class _Usage:
    input: int = 0
    output: int = 0
    cache_creation: int = 0
    cache_read: int = 0

    def update(self, usage: Any) -> None:
        for attr, name in (
            ("input", "input_tokens"),
            ("output", "output_tokens"),
            ("cache_creation", "cache_creation_input_tokens"),
            ("cache_read", "cache_read_input_tokens"),
        ):
            value = getattr(usage, name, None)
            if isinstance(value, int):
                setattr(self, attr, value)  # message_delta figures are cumulative

    def to_completion_usage(self) -> CompletionUsage:
        prompt = self.input + self.cache_creation + self.cache_read
        return CompletionUsage(
            completion_tokens=self.output,
            prompt_tokens=prompt,
            total_tokens=prompt + self.output,
            prompt_cached_tokens=self.cache_read,
        )


class LLMStream(_llm.LLMStream):
    """One streamed Messages API reply."""

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
        self._anthropic = llm
        self._request = request

    async def _run(self) -> None:
        llm = self._anthropic
        self._request_id = ""
        self._calls: dict[int, _PendingCall] = {}
        self._usage = _Usage()
        self._thinking = _ThinkingFilter()
        finished = False
        try:
            stream = await llm.client.messages.create(**self._request)
            async with stream:
                async for event in stream:
                    if event.type == "message_stop":
                        finished = True
                    self._on_event(event)
        except sdk_errors() as e:
            raise to_api_error(e, api_key=llm._config.api_key) from e
        if not finished:
            raise APIConnectionError("Anthropic closed the stream before the reply was complete")
        tail = self._thinking.flush()
        if tail:
            self._send_text(tail)
        self._event_ch.send_nowait(
            ChatChunk(id=self._request_id, usage=self._usage.to_completion_usage())
        )

    def _on_event(self, event: Any) -> None:
        kind = event.type
        if kind == "message_start":
            self._request_id = event.message.id or shortuuid("msg_")
            self._usage.update(event.message.usage)
        elif kind == "content_block_start":
            block = event.content_block
            if block.type == "tool_use":
                self._calls[event.index] = _PendingCall(call_id=block.id, name=block.name)
        elif kind == "content_block_delta":
            delta = event.delta
            if delta.type == "text_delta":
                text = self._thinking.feed(delta.text)
                if text:
                    self._send_text(text)
            elif delta.type == "input_json_delta":
                call = self._calls.get(event.index)
                if call is not None:
                    call.arguments += delta.partial_json
        elif kind == "content_block_stop":
            done = self._calls.pop(event.index, None)
            if done is not None:
                self._event_ch.send_nowait(
                    ChatChunk(
                        id=self._request_id,
                        delta=ChoiceDelta(
                            role="assistant",
                            tool_calls=[
                                FunctionToolCall(
                                    name=done.name,
                                    arguments=done.arguments or "{}",
                                    call_id=done.call_id,
                                )
                            ],
                        ),
                    )
                )
        elif kind == "message_delta":
            self._usage.update(event.usage)

    def _send_text(self, text: str) -> None:
        self._event_ch.send_nowait(
            ChatChunk(id=self._request_id, delta=ChoiceDelta(role="assistant", content=text))
        )


class _ThinkingFilter:
    """Drops a leading ``<thinking>...</thinking>`` passage (older Claude models write their
    reasoning this way before tool calls); it must never be spoken."""

    _OPEN = "<thinking>"
    _CLOSE = "</thinking>"

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
                return ""
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
