"""A local fake of the OpenAI REST API (Chat Completions SSE, transcriptions, speech).

Usage::

    from fake_servers.openai import FakeOpenAI

    async with FakeOpenAI() as srv:                      # 127.0.0.1, random port
        llm = openai.LLM(model="gpt-4o-mini", base_url=srv.base_url, api_key=srv.api_key)
        srv.script_chat("Hello there!")                   # next reply: streamed word by word
        srv.script_chat(tool_calls=[("get_weather", {"city": "Paris"})])
        srv.fail_next(429, retry_after=1)                # then faults, see _scripted_http
        ...
        srv.chat_requests[-1].json["messages"]           # what the client sent
        srv.assert_no_violations()

Endpoints (under ``srv.base_url`` = ``http://127.0.0.1:<port>/v1``):

* ``POST /chat/completions``: with ``stream: true`` an SSE body of ``data: <chunk JSON>`` lines
  and ``data: [DONE]``: a role chunk, one chunk per word of text, tool-call fragments (the first
  with ``id``/``name``, then the arguments in pieces, by ``index``), a finish chunk and, with
  ``stream_options.include_usage``, a usage chunk with ``choices: []``. Without ``stream`` a
  ``chat.completion`` JSON. Replies come from ``script_chat`` (a queue), else ``on_chat(body)``
  if set, else ``default_reply``. Streamed pieces (for ``disconnect_next``/``stall_next``/
  ``hold_next``) are SSE events.
* ``POST /audio/transcriptions``: multipart with ``file`` (must be a 16-bit WAV: its rate,
  channels and duration are recorded in ``request.extra["audio"]``), ``model``, optional
  ``language`` (ISO-639-1), ``prompt``, ``response_format`` (json, verbose_json, text).
  Answers ``script_transcription`` texts (a queue), else ``default_transcript``.
* ``POST /audio/speech``: JSON ``{model, input, voice, response_format, speed, ...}``; answers a
  chunked body of ``speech_chunk_bytes`` pieces: raw 24 kHz s16le mono for ``pcm`` (a tone
  whose length grows with the text, or ``script_speech(pcm)``), a WAV for ``wav``, or SSE
  ``speech.audio.delta`` events for ``stream_format: "sse"``. Pieces are body chunks.
* ``GET /models``: a model list (used to prewarm connections).

Every request must carry ``Authorization: Bearer <api_key>`` (else 401 ``invalid_api_key``; with
``api_key=None`` any bearer token is accepted, like a local Ollama server);
request bodies are checked as the real API does (model present, roles, tool messages answering
earlier tool calls, ``tool_choice`` only with tools, ...): a problem is answered with a 400 and
listed in ``srv.violations``. Errors use OpenAI's format ``{"error": {"message", "type", ...}}``.
"""

from __future__ import annotations

import base64
import io
import json
import math
import re
import struct
import time
import wave
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Union

from aiohttp import web

from ._scripted_http import Fault, RecordedRequest, ScriptedHTTPServer

__all__ = ["ChatReply", "FakeOpenAI", "ToolCallScript"]

SPEECH_SAMPLE_RATE = 24000
_ROLES = {"system", "developer", "user", "assistant", "tool"}
_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_SPEECH_FORMATS = {"mp3", "opus", "aac", "flac", "wav", "pcm"}


@dataclass
class ToolCallScript:
    """A tool call the fake model makes; ``arguments`` is a dict or raw JSON text."""

    name: str
    arguments: Union[dict[str, Any], str] = field(default_factory=dict)
    id: str | None = None

    def arguments_json(self) -> str:
        if isinstance(self.arguments, str):
            return self.arguments
        return json.dumps(self.arguments)


ToolCallLike = Union[ToolCallScript, tuple[str, Union[dict[str, Any], str]]]


@dataclass
class ChatReply:
    """One scripted assistant reply."""

    text: str = ""
    tool_calls: list[ToolCallScript] = field(default_factory=list)
    #: ``{"prompt_tokens", "completion_tokens", "cached_tokens"}``; estimated when omitted
    usage: dict[str, int] | None = None
    finish_reason: str | None = None
    #: how many argument fragments each tool call is split into
    argument_pieces: int = 3
    #: send the fragments of parallel calls interleaved (index 0, 1, 0, 1, ...)
    interleave: bool = False


class FakeOpenAI(ScriptedHTTPServer):
    """The fake; see the module docstring."""

    name = "OpenAI"

    def __init__(
        self,
        *,
        api_key: str | None = "sk-fake-openai-key",
        default_reply: str = "Hello from the fake model.",
        default_transcript: str = "hello world",
        speech_chunk_bytes: int = 4800,
        chunk_delay: float = 0.0,
    ) -> None:
        super().__init__(api_key=api_key, chunk_delay=chunk_delay)
        self.default_reply = default_reply
        self.default_transcript = default_transcript
        self.speech_chunk_bytes = speech_chunk_bytes
        #: dynamic replies: called with the request body when no scripted reply is queued
        self.on_chat: Callable[[dict[str, Any]], ChatReply | str | None] | None = None
        self._chat_replies: list[ChatReply] = []
        self._transcripts: list[tuple[str, str | None]] = []
        self._speech: list[bytes] = []
        self._ids = 0

    @property
    def base_url(self) -> str:
        """The URL to give the SDK: ``http://127.0.0.1:<port>/v1``."""
        return f"{self.url}/v1"

    # -- scripting -------------------------------------------------------------------------

    def script_chat(
        self,
        text: str = "",
        *,
        tool_calls: Iterable[ToolCallLike] = (),
        usage: dict[str, int] | None = None,
        finish_reason: str | None = None,
        argument_pieces: int = 3,
        interleave: bool = False,
    ) -> ChatReply:
        """Queue the next chat reply (text, tool calls given as ToolCallScript or (name, args))."""
        calls = [
            c if isinstance(c, ToolCallScript) else ToolCallScript(c[0], c[1]) for c in tool_calls
        ]
        reply = ChatReply(
            text=text,
            tool_calls=calls,
            usage=usage,
            finish_reason=finish_reason,
            argument_pieces=argument_pieces,
            interleave=interleave,
        )
        self._chat_replies.append(reply)
        return reply

    def script_transcription(self, text: str, *, language: str | None = None) -> None:
        """Queue the next transcription result."""
        self._transcripts.append((text, language))

    def script_speech(self, pcm: bytes) -> None:
        """Queue the raw 24 kHz s16le mono audio of the next speech request."""
        self._speech.append(pcm)

    # -- filtered records ------------------------------------------------------------------

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.endswith("/chat/completions")]

    @property
    def transcription_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.endswith("/audio/transcriptions")]

    @property
    def speech_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.endswith("/audio/speech")]

    # -- server hooks ----------------------------------------------------------------------

    def _add_routes(self, app: web.Application) -> None:
        app.router.add_post("/v1/chat/completions", self._route(self._chat))
        app.router.add_post("/v1/audio/transcriptions", self._route(self._transcribe))
        app.router.add_post("/v1/audio/speech", self._route(self._speak))
        app.router.add_get("/v1/models", self._route(self._models))

    def _auth_error(self, request: web.Request) -> web.Response | None:
        auth = request.headers.get("Authorization", "")
        if auth == f"Bearer {self.api_key}" or (
            self.api_key is None and auth.startswith("Bearer ")
        ):
            return None
        if not auth.startswith("Bearer "):
            message = "You didn't provide an API key in the Authorization header (Bearer)."
        else:
            message = "Incorrect API key provided."
        return self._error_response(401, message, code="invalid_api_key")

    def _error_response(
        self,
        status: int,
        message: str,
        *,
        headers: dict[str, str] | None = None,
        code: str | None = None,
    ) -> web.Response:
        kind = {
            400: "invalid_request_error",
            401: "invalid_request_error",
            403: "invalid_request_error",
            404: "invalid_request_error",
            429: "requests",
        }.get(status, "server_error")
        body = {"error": {"message": message, "type": kind, "param": None, "code": code}}
        return web.json_response(
            body, status=status, headers={"x-request-id": self._new_id("req_"), **(headers or {})}
        )

    def _new_id(self, prefix: str) -> str:
        self._ids += 1
        return f"{prefix}fake{self._ids:06d}"

    # -- /chat/completions -----------------------------------------------------------------

    async def _chat(
        self, request: web.Request, record: RecordedRequest, fault: Fault | None
    ) -> web.StreamResponse:
        body = record.json
        problem = _check_chat_body(body)
        if problem:
            return self._violation(problem)
        reply = self._next_chat_reply(body)
        for call in reply.tool_calls:
            call.id = call.id or self._new_id("call_")
        completion_id = self._new_id("chatcmpl-")
        if not body.get("stream"):
            return web.json_response(_completion_json(completion_id, body, reply))
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        events = [
            b"data: " + json.dumps(chunk).encode() + b"\n\n"
            for chunk in _chat_chunks(completion_id, body, reply, include_usage=include_usage)
        ]
        events.append(b"data: [DONE]\n\n")
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream; charset=utf-8",
                "Cache-Control": "no-cache",
                "x-request-id": self._new_id("req_"),
            }
        )
        return await self._write_pieces(request, response, events, fault)

    def _next_chat_reply(self, body: dict[str, Any]) -> ChatReply:
        if self._chat_replies:
            return self._chat_replies.pop(0)
        if self.on_chat is not None:
            got = self.on_chat(body)
            if isinstance(got, str):
                return ChatReply(text=got)
            if got is not None:
                return got
        return ChatReply(text=self.default_reply)

    # -- /audio/transcriptions -------------------------------------------------------------

    async def _transcribe(
        self, request: web.Request, record: RecordedRequest, fault: Fault | None
    ) -> web.StreamResponse:
        upload = record.files.get("file")
        if upload is None:
            return self._violation("transcriptions: the multipart field 'file' is missing")
        if not record.form.get("model"):
            return self._violation("transcriptions: the field 'model' is missing")
        language = record.form.get("language")
        if language is not None and not re.fullmatch(r"[a-z]{2,3}", language):
            return self._violation(
                f"transcriptions: language {language!r} is not an ISO-639-1 code such as 'en'"
            )
        fmt = record.form.get("response_format", "json")
        if fmt not in ("json", "verbose_json", "text"):
            return self._violation(f"transcriptions: unsupported response_format {fmt!r}")
        try:
            audio = _decode_wav(upload.data)
        except ValueError as e:
            return self._violation(f"transcriptions: the file is not a 16-bit PCM WAV: {e}")
        record.extra["audio"] = audio
        text, detected = (
            self._transcripts.pop(0) if self._transcripts else (self.default_transcript, None)
        )
        duration = audio["duration"]
        payload: Any
        if fmt == "text":
            return await self._finish(request, web.Response(text=text), fault)
        if fmt == "verbose_json":
            payload = {
                "task": "transcribe",
                "language": detected
                or {"en": "english", "fr": "french"}.get(language or "en", language),
                "duration": duration,
                "text": text,
                "segments": [],
            }
        else:
            payload = {"text": text, "usage": {"type": "duration", "seconds": math.ceil(duration)}}
        return await self._finish(request, web.json_response(payload), fault)

    async def _finish(
        self, request: web.Request, response: web.Response, fault: Fault | None
    ) -> web.StreamResponse:
        """Answer a non-streamed request, honouring a stall (before any byte) if queued."""
        if fault is not None and fault.stall_after is not None:
            await self._closing.wait()
        return response

    # -- /audio/speech ---------------------------------------------------------------------

    async def _speak(
        self, request: web.Request, record: RecordedRequest, fault: Fault | None
    ) -> web.StreamResponse:
        body = record.json
        if not isinstance(body, dict):
            return self._violation("speech: the body must be a JSON object")
        for key in ("model", "input", "voice"):
            if not body.get(key):
                return self._violation(f"speech: {key!r} is required")
        if not isinstance(body["input"], str) or len(body["input"]) > 4096:
            return self._violation("speech: 'input' must be a string of at most 4096 characters")
        fmt = body.get("response_format", "mp3")
        if fmt not in _SPEECH_FORMATS:
            return self._violation(f"speech: unknown response_format {fmt!r}")
        speed = body.get("speed", 1.0)
        if not isinstance(speed, (int, float)) or not 0.25 <= speed <= 4.0:
            return self._violation("speech: 'speed' must be between 0.25 and 4.0")
        pcm = self._speech.pop(0) if self._speech else _tone_for_text(body["input"])
        if body.get("stream_format") == "sse":
            events = [
                b"data: "
                + json.dumps(
                    {"type": "speech.audio.delta", "audio": base64.b64encode(piece).decode()}
                ).encode()
                + b"\n\n"
                for piece in _split_bytes(pcm, self.speech_chunk_bytes)
            ]
            done = {
                "type": "speech.audio.done",
                "usage": {"input_tokens": 1, "output_tokens": 1, "total_tokens": 2},
            }
            events.append(b"data: " + json.dumps(done).encode() + b"\n\n")
            response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
            return await self._write_pieces(request, response, events, fault)
        if fmt == "pcm":
            data, ctype = pcm, "audio/pcm"
        elif fmt == "wav":
            data, ctype = _encode_wav(pcm, SPEECH_SAMPLE_RATE), "audio/wav"
        else:
            # the fake cannot encode compressed formats: say so (this is not a client error)
            return self._error_response(
                400, f"the fake server only produces pcm and wav, not {fmt}"
            )
        response = web.StreamResponse(
            headers={"Content-Type": ctype, "x-request-id": self._new_id("req_")}
        )
        response.enable_chunked_encoding()
        return await self._write_pieces(
            request, response, _split_bytes(data, self.speech_chunk_bytes), fault
        )

    # -- /models ---------------------------------------------------------------------------

    async def _models(
        self, request: web.Request, record: RecordedRequest, fault: Fault | None
    ) -> web.StreamResponse:
        models = [
            "gpt-4o",
            "gpt-4o-mini",
            "whisper-1",
            "gpt-4o-mini-transcribe",
            "tts-1",
            "gpt-4o-mini-tts",
        ]
        data = [{"id": m, "object": "model", "created": 0, "owned_by": "system"} for m in models]
        return web.json_response({"object": "list", "data": data})


# -- chat helpers --------------------------------------------------------------------------


def _check_chat_body(body: Any) -> str | None:
    """What the real API would reject in a chat request, or None."""
    if not isinstance(body, dict):
        return "chat: the body must be a JSON object"
    if not isinstance(body.get("model"), str) or not body["model"]:
        return "chat: you must provide a model parameter"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "chat: 'messages' must be a non-empty array"
    open_calls: set[str] = set()
    for i, msg in enumerate(messages):
        if not isinstance(msg, dict) or msg.get("role") not in _ROLES:
            return f"chat: messages[{i}] has an invalid role"
        role = msg["role"]
        if role != "tool" and open_calls:
            return (
                "chat: an assistant message with 'tool_calls' must be followed by tool messages "
                f"responding to each 'tool_call_id' (missing: {sorted(open_calls)})"
            )
        if role == "tool":
            call_id = msg.get("tool_call_id")
            if call_id not in open_calls:
                return (
                    f"chat: messages[{i}] with role 'tool' must be a response to a preceding "
                    "message with 'tool_calls'"
                )
            open_calls.discard(call_id)
            if not isinstance(msg.get("content"), (str, list)):
                return f"chat: messages[{i}].content must be a string"
        elif role == "assistant":
            calls = msg.get("tool_calls") or []
            if msg.get("content") is None and not calls:
                return f"chat: messages[{i}] (assistant) needs content or tool_calls"
            for call in calls:
                fn = call.get("function") or {}
                if call.get("type") != "function" or not call.get("id") or not fn.get("name"):
                    return f"chat: messages[{i}].tool_calls entries need id, type and function.name"
                if not isinstance(fn.get("arguments"), str):
                    return f"chat: messages[{i}].tool_calls[].function.arguments must be a string"
                open_calls.add(call["id"])
        else:
            content = msg.get("content")
            if not isinstance(content, (str, list)):
                return f"chat: messages[{i}].content must be a string or an array of parts"
    if open_calls:
        return "chat: tool calls of the last assistant message have no tool responses"
    tools = body.get("tools")
    if tools is not None:
        if not isinstance(tools, list) or not tools:
            return "chat: 'tools' must be a non-empty array when given"
        for tool in tools:
            fn = tool.get("function") if isinstance(tool, dict) else None
            if tool.get("type") != "function" or not isinstance(fn, dict):
                return "chat: each tool must be {'type': 'function', 'function': {...}}"
            if not _TOOL_NAME.match(str(fn.get("name", ""))):
                return f"chat: invalid tool name {fn.get('name')!r}"
            params = fn.get("parameters")
            if params is not None and (
                not isinstance(params, dict) or params.get("type") != "object"
            ):
                return (
                    f"chat: tool {fn['name']!r}: parameters must be a JSON schema of type 'object'"
                )
    for key in ("tool_choice", "parallel_tool_calls"):
        if key in body and not tools:
            return f"chat: {key!r} is only allowed when 'tools' are specified"
    choice = body.get("tool_choice")
    if choice is not None and not (
        choice in ("auto", "required", "none")
        or (
            isinstance(choice, dict)
            and choice.get("type") == "function"
            and (choice.get("function") or {}).get("name")
        )
    ):
        return f"chat: invalid tool_choice {choice!r}"
    if "stream_options" in body and not body.get("stream"):
        return "chat: 'stream_options' is only allowed when 'stream' is true"
    return None


def _text_pieces(text: str) -> list[str]:
    return re.findall(r"\s*\S+\s*", text) if text.strip() else ([text] if text else [])


def _split_args(text: str, pieces: int) -> list[str]:
    pieces = max(1, pieces)
    size = max(1, math.ceil(len(text) / pieces))
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def _estimate_usage(body: dict[str, Any], reply: ChatReply) -> dict[str, Any]:
    usage = dict(reply.usage or {})
    prompt = usage.get("prompt_tokens")
    if prompt is None:
        prompt = sum(len(str(m.get("content") or "").split()) + 3 for m in body.get("messages", []))
    completion = usage.get("completion_tokens")
    if completion is None:
        completion = len(_text_pieces(reply.text)) + 8 * len(reply.tool_calls)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {
            "cached_tokens": usage.get("cached_tokens", 0),
            "audio_tokens": 0,
        },
        "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
    }


def _call_ids(reply: ChatReply) -> list[str]:
    return [c.id or f"call_{i}" for i, c in enumerate(reply.tool_calls)]


def _chat_chunks(
    completion_id: str, body: dict[str, Any], reply: ChatReply, *, include_usage: bool
) -> list[dict[str, Any]]:
    created = int(time.time())
    model = body["model"]

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "system_fingerprint": "fp_fake",
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }
        if include_usage:
            out["usage"] = None
        return out

    chunks = [chunk({"role": "assistant", "content": "", "refusal": None})]
    chunks += [chunk({"content": piece}) for piece in _text_pieces(reply.text)]

    ids = _call_ids(reply)
    per_call: list[list[dict[str, Any]]] = []
    for index, (call, call_id) in enumerate(zip(reply.tool_calls, ids, strict=True)):
        frags = [
            {
                "index": index,
                "id": call_id,
                "type": "function",
                "function": {"name": call.name, "arguments": ""},
            }
        ]
        frags += [
            {"index": index, "function": {"arguments": piece}}
            for piece in _split_args(call.arguments_json(), reply.argument_pieces)
        ]
        per_call.append(frags)
    if reply.interleave:
        ordered = [f for group in _round_robin(per_call) for f in group]
    else:
        ordered = [f for frags in per_call for f in frags]
    chunks += [chunk({"tool_calls": [frag]}) for frag in ordered]

    finish = reply.finish_reason or ("tool_calls" if reply.tool_calls else "stop")
    chunks.append(chunk({}, finish))
    if include_usage:
        chunks.append(
            {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "system_fingerprint": "fp_fake",
                "choices": [],
                "usage": _estimate_usage(body, reply),
            }
        )
    return chunks


def _round_robin(groups: list[list[dict[str, Any]]]) -> list[list[dict[str, Any]]]:
    out: list[list[dict[str, Any]]] = []
    longest = max((len(g) for g in groups), default=0)
    for i in range(longest):
        out.append([g[i] for g in groups if i < len(g)])
    return out


def _completion_json(completion_id: str, body: dict[str, Any], reply: ChatReply) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": reply.text or None, "refusal": None}
    if reply.tool_calls:
        message["tool_calls"] = [
            {
                "id": cid,
                "type": "function",
                "function": {"name": c.name, "arguments": c.arguments_json()},
            }
            for c, cid in zip(reply.tool_calls, _call_ids(reply), strict=True)
        ]
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body["model"],
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": reply.finish_reason
                or ("tool_calls" if reply.tool_calls else "stop"),
            }
        ],
        "usage": _estimate_usage(body, reply),
    }


# -- audio helpers -------------------------------------------------------------------------


def _decode_wav(data: bytes) -> dict[str, Any]:
    try:
        with wave.open(io.BytesIO(data), "rb") as wav:
            rate, channels, width, frames = (
                wav.getframerate(),
                wav.getnchannels(),
                wav.getsampwidth(),
                wav.getnframes(),
            )
            pcm = wav.readframes(frames)
    except (wave.Error, EOFError) as e:
        raise ValueError(str(e)) from e
    if width != 2:
        raise ValueError(f"sample width is {width * 8} bits")
    return {
        "sample_rate": rate,
        "channels": channels,
        "sample_width": width,
        "duration": frames / rate if rate else 0.0,
        "pcm": pcm,
    }


def _encode_wav(pcm: bytes, rate: int) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(pcm)
    return buf.getvalue()


def _tone_for_text(text: str) -> bytes:
    """A 440 Hz tone, 40 ms per character (at least 0.2 s, at most 4 s), 24 kHz s16le mono."""
    seconds = min(4.0, max(0.2, 0.04 * len(text)))
    n = int(SPEECH_SAMPLE_RATE * seconds)
    amp = 8000
    return b"".join(
        struct.pack("<h", int(amp * math.sin(2 * math.pi * 440 * i / SPEECH_SAMPLE_RATE)))
        for i in range(n)
    )


def _split_bytes(data: bytes, size: int) -> list[bytes]:
    size = max(1, size)
    return [data[i : i + size] for i in range(0, len(data), size)]
