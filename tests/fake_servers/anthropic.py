"""A local fake of the Anthropic Messages API (``POST /v1/messages``, streamed as SSE).

Usage::

    from fake_servers.anthropic import FakeAnthropic

    async with FakeAnthropic() as srv:                   # 127.0.0.1, random port
        llm = anthropic.LLM(base_url=srv.base_url, api_key=srv.api_key)
        srv.script_message("Hello there!")               # next reply: streamed word by word
        srv.script_message(tool_calls=[("get_weather", {"city": "Paris"})])
        srv.fail_next(529)                               # faults: see _scripted_http
        srv.error_event_next("overloaded_error")         # an SSE `error` event instead of a reply
        ...
        srv.message_requests[-1].json["system"]          # what the client sent
        srv.assert_no_violations()

``srv.base_url`` is ``http://127.0.0.1:<port>`` (the SDK appends ``/v1/messages``).

With ``stream: true`` the answer is SSE with ``event:`` and ``data:`` lines, as the real API sends:
``message_start`` (usage: input tokens, cache tokens), ``ping``, for the text a
``content_block_start``/``text_delta`` per word/``content_block_stop``, for each tool call a
``tool_use`` block whose input arrives as several ``input_json_delta`` fragments, then
``message_delta`` (``stop_reason`` ``end_turn`` or ``tool_use``, cumulative ``output_tokens``) and
``message_stop``. Streamed pieces (for ``disconnect_next``/``stall_next``/``hold_next``) are SSE
events. Without ``stream`` a ``message`` JSON is returned.

Every request must carry the key, as ``x-api-key: <api_key>`` or (newer SDKs)
``Authorization: Bearer <api_key>`` (else 401 ``authentication_error``; ``FakeAnthropic.sent_key``
reads it back), and an ``anthropic-version`` header (a date); bodies are checked as the real API does (``model``,
``max_tokens``, ``messages`` starting with a user turn, roles, each ``tool_use`` answered by a
``tool_result`` in the next user turn, tool schemas, ``tool_choice``): a problem is answered with
a 400 ``invalid_request_error`` and listed in ``srv.violations``. Replies come from
``script_message`` (a queue), else ``on_message(body)`` if set, else ``default_reply``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Union

from aiohttp import web

from ._scripted_http import Fault, RecordedRequest, ScriptedHTTPServer

__all__ = ["FakeAnthropic", "MessageReply", "ToolUseScript"]

_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,128}$")
_VERSION = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_BLOCK_TYPES = {
    "text",
    "image",
    "document",
    "tool_use",
    "tool_result",
    "thinking",
    "redacted_thinking",
}


@dataclass
class ToolUseScript:
    """A tool call the fake model makes; ``input`` is a dict or raw JSON text."""

    name: str
    input: Union[dict[str, Any], str] = field(default_factory=dict)
    id: str | None = None

    def input_json(self) -> str:
        return self.input if isinstance(self.input, str) else json.dumps(self.input)


ToolUseLike = Union[ToolUseScript, tuple[str, Union[dict[str, Any], str]]]


@dataclass
class MessageReply:
    """One scripted assistant message."""

    text: str = ""
    tool_calls: list[ToolUseScript] = field(default_factory=list)
    #: ``{"input_tokens", "output_tokens", "cache_creation_input_tokens", "cache_read_input_tokens"}``
    usage: dict[str, int] | None = None
    stop_reason: str | None = None
    #: how many ``input_json_delta`` fragments each tool input is split into
    input_pieces: int = 3


class FakeAnthropic(ScriptedHTTPServer):
    """The fake; see the module docstring."""

    name = "Anthropic"

    def __init__(
        self,
        *,
        api_key: str = "sk-ant-fake-key",
        default_reply: str = "Hello from the fake model.",
        chunk_delay: float = 0.0,
    ) -> None:
        super().__init__(api_key=api_key, chunk_delay=chunk_delay)
        self.default_reply = default_reply
        #: dynamic replies: called with the request body when no scripted reply is queued
        self.on_message: Callable[[dict[str, Any]], MessageReply | str | None] | None = None
        self._replies: list[MessageReply] = []
        self._ids = 0

    @property
    def base_url(self) -> str:
        return self.url

    # -- scripting -------------------------------------------------------------------------

    def script_message(
        self,
        text: str = "",
        *,
        tool_calls: Iterable[ToolUseLike] = (),
        usage: dict[str, int] | None = None,
        stop_reason: str | None = None,
        input_pieces: int = 3,
    ) -> MessageReply:
        """Queue the next reply (text, tool calls given as ToolUseScript or (name, input))."""
        calls = [
            c if isinstance(c, ToolUseScript) else ToolUseScript(c[0], c[1]) for c in tool_calls
        ]
        reply = MessageReply(
            text=text,
            tool_calls=calls,
            usage=usage,
            stop_reason=stop_reason,
            input_pieces=input_pieces,
        )
        self._replies.append(reply)
        return reply

    def error_event_next(
        self, error_type: str = "overloaded_error", *, after: int = 0, endpoint: str | None = None
    ) -> None:
        """Answer the next stream with 200, ``after`` events, then an SSE ``error`` event."""
        self._faults.append(
            Fault(stream_error=error_type, stream_error_after=after, endpoint=endpoint)
        )

    @property
    def message_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path == "/v1/messages"]

    # -- server hooks ----------------------------------------------------------------------

    def _add_routes(self, app: web.Application) -> None:
        app.router.add_post("/v1/messages", self._route(self._messages))
        app.router.add_get("/v1/models", self._route(self._models))

    def _auth_error(self, request: web.Request) -> web.Response | None:
        # API keys travel as `x-api-key` (the documented header) or, from newer SDKs, as
        # `Authorization: Bearer <key>`; both are accepted, as the real API does
        if request.headers.get("x-api-key") == self.api_key:
            return None
        if request.headers.get("Authorization") == f"Bearer {self.api_key}":
            return None
        return self._error_response(401, "invalid x-api-key")

    @staticmethod
    def sent_key(record: RecordedRequest) -> str | None:
        """The API key a request carried (from ``x-api-key`` or ``Authorization: Bearer``)."""
        key = record.headers.get("x-api-key")
        if key:
            return key
        auth = record.headers.get("Authorization", "")
        return auth[len("Bearer ") :] if auth.startswith("Bearer ") else None

    def _error_response(
        self, status: int, message: str, *, headers: dict[str, str] | None = None
    ) -> web.Response:
        body = {
            "type": "error",
            "error": {"type": _error_type(status), "message": message},
            "request_id": self._new_id("req_"),
        }
        return web.json_response(
            body, status=status, headers={"request-id": body["request_id"], **(headers or {})}
        )

    def _new_id(self, prefix: str) -> str:
        self._ids += 1
        return f"{prefix}fake{self._ids:06d}"

    # -- /v1/messages ----------------------------------------------------------------------

    async def _messages(
        self, request: web.Request, record: RecordedRequest, fault: Fault | None
    ) -> web.StreamResponse:
        version = request.headers.get("anthropic-version", "")
        if not _VERSION.match(version):
            return self._violation(f"anthropic-version: header is required (got {version!r})")
        body = record.json
        problem = _check_body(body)
        if problem:
            return self._violation(problem)
        reply = self._next_reply(body)
        for call in reply.tool_calls:
            call.id = call.id or self._new_id("toolu_")
        message_id = self._new_id("msg_")
        if not body.get("stream"):
            return web.json_response(_message_json(message_id, body, reply))
        events = [_sse(name, data) for name, data in _stream_events(message_id, body, reply)]
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream; charset=utf-8",
                "Cache-Control": "no-cache",
                "request-id": self._new_id("req_"),
            }
        )
        return await self._write_pieces(
            request,
            response,
            events,
            fault,
            on_stream_error=lambda kind: _sse(
                "error", {"type": "error", "error": {"type": kind, "message": _error_message(kind)}}
            ),
        )

    def _next_reply(self, body: dict[str, Any]) -> MessageReply:
        if self._replies:
            return self._replies.pop(0)
        if self.on_message is not None:
            got = self.on_message(body)
            if isinstance(got, str):
                return MessageReply(text=got)
            if got is not None:
                return got
        return MessageReply(text=self.default_reply)

    async def _models(
        self, request: web.Request, record: RecordedRequest, fault: Fault | None
    ) -> web.StreamResponse:
        data = [
            {
                "type": "model",
                "id": "claude-sonnet-4-20250514",
                "display_name": "Claude Sonnet 4",
                "created_at": "2025-05-14T00:00:00Z",
            }
        ]
        return web.json_response(
            {"data": data, "has_more": False, "first_id": data[0]["id"], "last_id": data[0]["id"]}
        )


# -- helpers -------------------------------------------------------------------------------


def _error_type(status: int) -> str:
    return {
        400: "invalid_request_error",
        401: "authentication_error",
        403: "permission_error",
        404: "not_found_error",
        413: "request_too_large",
        429: "rate_limit_error",
        529: "overloaded_error",
    }.get(status, "api_error")


def _error_message(kind: str) -> str:
    return {"overloaded_error": "Overloaded", "api_error": "Internal server error"}.get(kind, kind)


def _sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()


def _blocks(content: Any) -> list[dict[str, Any]] | None:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if isinstance(content, list) and all(isinstance(b, dict) for b in content):
        return content
    return None


def _check_body(body: Any) -> str | None:
    """What the real API would reject in a Messages request, or None."""
    if not isinstance(body, dict):
        return "the body must be a JSON object"
    if not isinstance(body.get("model"), str) or not body["model"]:
        return "model: Field required"
    max_tokens = body.get("max_tokens")
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
        return "max_tokens: Field required (a positive integer)"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "messages: at least one message is required"
    if not isinstance(messages[0], dict) or messages[0].get("role") != "user":
        return "messages: the first message must use the 'user' role"
    pending: set[str] = set()
    for i, msg in enumerate(messages):
        role = msg.get("role") if isinstance(msg, dict) else None
        if role not in ("user", "assistant"):
            return f"messages.{i}.role: Input should be 'user' or 'assistant'"
        blocks = _blocks(msg.get("content"))
        if blocks is None:
            return f"messages.{i}.content: must be a string or a list of content blocks"
        for j, block in enumerate(blocks):
            if block.get("type") not in _BLOCK_TYPES:
                return f"messages.{i}.content.{j}: unknown block type {block.get('type')!r}"
            if block["type"] == "text" and not isinstance(block.get("text"), str):
                return f"messages.{i}.content.{j}.text: Field required"
            if block["type"] == "text" and not block["text"]:
                return f"messages.{i}.content.{j}: text content blocks must be non-empty"
        if role == "user":
            answered = {b.get("tool_use_id") for b in blocks if b.get("type") == "tool_result"}
            if answered - pending:
                return (
                    f"messages.{i}: unexpected `tool_use_id` found in `tool_result` blocks: "
                    f"{sorted(str(a) for a in answered - pending)}. Each `tool_result` block must "
                    "have a corresponding `tool_use` block in the previous message."
                )
            if pending - answered:
                return (
                    f"messages.{i}: `tool_use` ids were found without `tool_result` blocks "
                    f"immediately after: {sorted(pending - answered)}"
                )
            pending = set()
        else:
            if pending:
                return (
                    f"messages.{i}: `tool_use` ids without `tool_result` blocks: {sorted(pending)}"
                )
            for block in blocks:
                if block.get("type") == "tool_result":
                    return f"messages.{i}: tool_result blocks belong in user messages"
                if block.get("type") == "tool_use":
                    if (
                        not block.get("id")
                        or not block.get("name")
                        or not isinstance(block.get("input"), dict)
                    ):
                        return f"messages.{i}: tool_use blocks need id, name and an object input"
                    pending.add(block["id"])
    system = body.get("system")
    if system is not None and not _valid_system(system):
        return "system: must be a string or a list of text blocks"
    tools = body.get("tools")
    names: set[str] = set()
    if tools is not None:
        if not isinstance(tools, list):
            return "tools: must be a list"
        for k, tool in enumerate(tools):
            if not isinstance(tool, dict) or not _TOOL_NAME.match(str(tool.get("name", ""))):
                return f"tools.{k}.name: invalid tool name"
            schema = tool.get("input_schema")
            if not isinstance(schema, dict) or schema.get("type") != "object":
                return f"tools.{k}.input_schema: must be a JSON schema of type 'object'"
            names.add(tool["name"])
    choice = body.get("tool_choice")
    if choice is not None:
        kind = choice.get("type") if isinstance(choice, dict) else None
        if kind not in ("auto", "any", "tool", "none"):
            return f"tool_choice.type: invalid value {kind!r}"
        if kind == "tool" and choice.get("name") not in names:
            return f"tool_choice.name: no tool named {choice.get('name')!r}"
        if kind in ("any", "tool") and not names:
            return "tool_choice: requires tools"
    return None


def _valid_system(system: Any) -> bool:
    if isinstance(system, str):
        return True
    return isinstance(system, list) and all(
        isinstance(b, dict) and b.get("type") == "text" and isinstance(b.get("text"), str)
        for b in system
    )


def _text_pieces(text: str) -> list[str]:
    return re.findall(r"\s*\S+\s*", text) if text.strip() else []


def _split(text: str, pieces: int) -> list[str]:
    size = max(1, math.ceil(len(text) / max(1, pieces)))
    return [text[i : i + size] for i in range(0, len(text), size)]


def _usage(body: dict[str, Any], reply: MessageReply) -> dict[str, int]:
    usage = dict(reply.usage or {})
    if "input_tokens" not in usage:
        words = len(json.dumps(body.get("messages", [])).split()) + len(
            str(body.get("system", "")).split()
        )
        usage["input_tokens"] = words
    if "output_tokens" not in usage:
        usage["output_tokens"] = len(_text_pieces(reply.text)) + 10 * len(reply.tool_calls)
    usage.setdefault("cache_creation_input_tokens", 0)
    usage.setdefault("cache_read_input_tokens", 0)
    return usage


def _stop_reason(reply: MessageReply) -> str:
    return reply.stop_reason or ("tool_use" if reply.tool_calls else "end_turn")


def _stream_events(
    message_id: str, body: dict[str, Any], reply: MessageReply
) -> list[tuple[str, dict[str, Any]]]:
    usage = _usage(body, reply)
    start_usage = {
        "input_tokens": usage["input_tokens"],
        "output_tokens": 1,
        "cache_creation_input_tokens": usage["cache_creation_input_tokens"],
        "cache_read_input_tokens": usage["cache_read_input_tokens"],
    }
    events: list[tuple[str, dict[str, Any]]] = [
        (
            "message_start",
            {
                "type": "message_start",
                "message": {
                    "id": message_id,
                    "type": "message",
                    "role": "assistant",
                    "content": [],
                    "model": body["model"],
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": start_usage,
                },
            },
        ),
        ("ping", {"type": "ping"}),
    ]
    index = 0
    pieces = _text_pieces(reply.text)
    if pieces:
        events.append(
            (
                "content_block_start",
                {
                    "type": "content_block_start",
                    "index": index,
                    "content_block": {"type": "text", "text": ""},
                },
            )
        )
        for piece in pieces:
            events.append(
                (
                    "content_block_delta",
                    {
                        "type": "content_block_delta",
                        "index": index,
                        "delta": {"type": "text_delta", "text": piece},
                    },
                )
            )
        events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
        index += 1
    for call in reply.tool_calls:
        events.append(
            (
                "content_block_start",
                {
                    "type": "content_block_start",
                    "index": index,
                    "content_block": {
                        "type": "tool_use",
                        "id": call.id,
                        "name": call.name,
                        "input": {},
                    },
                },
            )
        )
        for fragment in ["", *_split(call.input_json(), reply.input_pieces)]:
            events.append(
                (
                    "content_block_delta",
                    {
                        "type": "content_block_delta",
                        "index": index,
                        "delta": {"type": "input_json_delta", "partial_json": fragment},
                    },
                )
            )
        events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
        index += 1
    events.append(
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": _stop_reason(reply), "stop_sequence": None},
                "usage": {"output_tokens": usage["output_tokens"]},
            },
        )
    )
    events.append(("message_stop", {"type": "message_stop"}))
    return events


def _message_json(message_id: str, body: dict[str, Any], reply: MessageReply) -> dict[str, Any]:
    content: list[dict[str, Any]] = []
    if reply.text:
        content.append({"type": "text", "text": reply.text})
    for call in reply.tool_calls:
        content.append(
            {
                "type": "tool_use",
                "id": call.id,
                "name": call.name,
                "input": json.loads(call.input_json() or "{}"),
            }
        )
    return {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "content": content,
        "model": body["model"],
        "stop_reason": _stop_reason(reply),
        "stop_sequence": None,
        "usage": _usage(body, reply),
    }
