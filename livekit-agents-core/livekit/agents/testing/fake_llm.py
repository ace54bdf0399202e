"""A scriptable LLM for tests: replies and tool calls chosen by the test, with controllable timing."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeAlias, Union

from ..llm import (
    LLM,
    ChatChunk,
    ChatContext,
    ChatMessage,
    ChoiceDelta,
    CompletionUsage,
    FunctionCall,
    FunctionCallOutput,
    FunctionToolCall,
    LLMStream,
)
from ..types import DEFAULT_API_CONNECT_OPTIONS, NOT_GIVEN, APIConnectOptions, NotGivenOr
from ..utils.misc import shortuuid

if TYPE_CHECKING:
    from ..llm import Tool, ToolChoice

__all__ = ["FakeLLM", "FakeResponse", "FakeToolCall"]


@dataclass
class FakeToolCall:
    name: str
    arguments: dict[str, Any] | str = field(default_factory=dict)


@dataclass
class FakeResponse:
    """One LLM answer: text (streamed in ``chunk_size`` pieces) and/or tool calls.

    ``ttft`` delays the first chunk; ``chunk_delay`` spaces the following ones; ``error`` makes
    the request fail with that exception instead.
    """

    text: str = ""
    tool_calls: list[FakeToolCall] = field(default_factory=list)
    ttft: float = 0.0
    chunk_delay: float = 0.0
    chunk_size: int = 8
    error: Exception | None = None


Reply: TypeAlias = Union[str, FakeResponse, Callable[[ChatContext], Union[str, FakeResponse]]]


def _as_response(reply: Reply, ctx: ChatContext) -> FakeResponse:
    if callable(reply) and not isinstance(reply, FakeResponse):
        reply = reply(ctx)
    if isinstance(reply, str):
        return FakeResponse(text=reply)
    if isinstance(reply, FakeResponse):
        return reply
    raise TypeError(f"a fake reply must be a str, FakeResponse or callable, got {reply!r}")


class FakeLLM(LLM):
    """Answers from a script.

    - ``replies``: answers used in order, one per request (after the last, ``default``).
    - ``rules``: ``{pattern: [step, step, ...]}``; when the last user message matches the regex
      ``pattern`` (case-insensitive), step *n* answers the *n*-th request of that turn (step 0
      to the user message, step 1 after the first round of tool results...).
    - ``echo=True``: answer "You said: <user text>".

    Every request is recorded in ``requests`` (chat context, tools, tool choice).
    """

    def __init__(
        self,
        replies: Sequence[Reply] | None = None,
        *,
        rules: Mapping[str, Reply | Sequence[Reply]] | None = None,
        default: Reply = "I'm not sure how to help with that.",
        echo: bool = False,
        model: str = "scripted",
    ) -> None:
        super().__init__()
        self._replies = list(replies or [])
        self._rules: list[tuple[re.Pattern[str], list[Reply]]] = [
            (re.compile(p, re.IGNORECASE), _steps(r)) for p, r in (rules or {}).items()
        ]
        self._default = default
        self._echo = echo
        self._model = model
        self.requests: list[dict[str, Any]] = []

    @property
    def model(self) -> str:
        return self._model

    @property
    def provider(self) -> str:
        return "fake"

    def add_reply(self, reply: Reply) -> None:
        self._replies.append(reply)

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
        self.requests.append({"chat_ctx": chat_ctx.copy(), "tools": list(tools or []), "tool_choice": tool_choice})
        response = self._pick(chat_ctx)
        return _FakeStream(self, response, chat_ctx=chat_ctx, tools=tools, conn_options=conn_options)

    def _pick(self, ctx: ChatContext) -> FakeResponse:
        user_text, step, outputs = _last_user_turn(ctx)
        for pattern, steps in self._rules:
            if pattern.search(user_text):
                if step < len(steps):
                    return _as_response(steps[step], ctx)
                # past the script: report the tool results in words
                return FakeResponse(text=" ".join(outputs) or "Done.")
        if self._replies:
            return _as_response(self._replies.pop(0), ctx)
        if self._echo:
            return FakeResponse(text=f"You said: {user_text}" if user_text else "Hello!")
        return _as_response(self._default, ctx)


def _steps(rule: Reply | Sequence[Reply]) -> list[Reply]:
    if isinstance(rule, (list, tuple)):
        return list(rule)
    return [rule]  # type: ignore[list-item]


def _last_user_turn(ctx: ChatContext) -> tuple[str, int, list[str]]:
    """The last user message, how many tool rounds followed it, and the last round's outputs."""
    items = ctx.items
    start = 0
    text = ""
    for i in range(len(items) - 1, -1, -1):
        item = items[i]
        if isinstance(item, ChatMessage) and item.role == "user":
            start, text = i + 1, item.text_content or ""
            break
    generations: list[str] = []
    outputs: dict[str, list[str]] = {}
    call_gen: dict[str, str] = {}
    for item in items[start:]:
        if isinstance(item, FunctionCall):
            gen = item.id.split("/fnc_")[0]
            call_gen[item.call_id] = gen
            if gen not in generations:
                generations.append(gen)
        elif isinstance(item, FunctionCallOutput):
            gen = call_gen.get(item.call_id, item.call_id)
            outputs.setdefault(gen, []).append(item.output)
    last = outputs.get(generations[-1], []) if generations else []
    return text, len(generations), [o for o in last if o]


class _FakeStream(LLMStream):
    def __init__(self, llm: FakeLLM, response: FakeResponse, **kwargs: Any) -> None:
        super().__init__(llm, **kwargs)
        self._response = response

    async def _run(self) -> None:
        r = self._response
        request_id = shortuuid("fake_")
        if r.ttft:
            await asyncio.sleep(r.ttft)
        if r.error is not None:
            raise r.error
        text = r.text
        for i in range(0, len(text), max(1, r.chunk_size)):
            if i and r.chunk_delay:
                await asyncio.sleep(r.chunk_delay)
            self._event_ch.send_nowait(
                ChatChunk(id=request_id, delta=ChoiceDelta(role="assistant", content=text[i : i + r.chunk_size]))
            )
        if r.tool_calls:
            calls = [
                FunctionToolCall(
                    name=c.name,
                    arguments=c.arguments if isinstance(c.arguments, str) else json.dumps(c.arguments),
                    call_id=shortuuid("call_"),
                )
                for c in r.tool_calls
            ]
            self._event_ch.send_nowait(ChatChunk(id=request_id, delta=ChoiceDelta(role="assistant", tool_calls=calls)))
        prompt = sum(len((m.text_content or "").split()) for m in self._chat_ctx.messages())
        completion = len(text.split())
        self._event_ch.send_nowait(
            ChatChunk(
                id=request_id,
                usage=CompletionUsage(completion_tokens=completion, prompt_tokens=prompt,
                                      total_tokens=prompt + completion),
            )
        )


