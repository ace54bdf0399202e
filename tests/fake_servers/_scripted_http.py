"""Machinery shared by the HTTP fakes in this package (``openai``, ``anthropic``).

:class:`ScriptedHTTPServer` runs an aiohttp app on 127.0.0.1 (a random free port), records every
request (:class:`RecordedRequest`), checks the credentials, and injects faults queued by the test:

* ``fail_next(status, retry_after=...)``: answer the next request with an error status;
* ``disconnect_next(after=n)``: send ``n`` pieces of the streamed body, then drop the connection;
* ``stall_next(after=n)``: send ``n`` pieces, then go silent (the client must time out);
* ``hold_next(after=n)``: send ``n`` pieces, then wait until the returned event is set (not a
  fault: it lets a test observe that output arrives before the server has finished).

Each fault applies to one request (``times=`` for more) and may be limited to one endpoint with
``endpoint="chat/completions"`` (a substring of the request path). Problems found in what a client
sent are answered with a 400 in the provider's error format and listed in ``violations``.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from multidict import CIMultiDict

__all__ = ["Fault", "RecordedRequest", "ScriptedHTTPServer", "UploadedFile"]

Handler = Callable[[web.Request, "RecordedRequest", "Fault | None"], Awaitable[web.StreamResponse]]


@dataclass
class UploadedFile:
    """One file part of a multipart request."""

    filename: str | None
    content_type: str | None
    data: bytes


@dataclass
class RecordedRequest:
    """What a client sent, and what the fake answered."""

    method: str
    path: str
    headers: CIMultiDict[str]
    query: dict[str, str]
    body: bytes = b""
    json: Any = None
    form: dict[str, str] = field(default_factory=dict)
    files: dict[str, UploadedFile] = field(default_factory=dict)
    #: fake-specific details (e.g. the decoded audio of an upload)
    extra: dict[str, Any] = field(default_factory=dict)
    #: time.monotonic() when the request arrived
    at: float = field(default_factory=time.monotonic)
    #: the HTTP status the fake answered with (0 while streaming or when the connection dropped)
    status: int = 0


@dataclass
class Fault:
    """A queued misbehaviour (see the module docstring)."""

    status: int | None = None
    retry_after: float | None = None
    message: str | None = None
    disconnect_after: int | None = None
    stall_after: int | None = None
    hold_after: int | None = None
    gate: asyncio.Event | None = None
    #: provider-specific in-stream error (Anthropic's SSE ``error`` event type)
    stream_error: str | None = None
    stream_error_after: int | None = None
    endpoint: str | None = None


class ScriptedHTTPServer:
    """Base class of the fakes: lifecycle, request records, auth check and faults."""

    #: the provider's name, used in messages
    name = "fake"

    def __init__(self, *, api_key: str | None, chunk_delay: float = 0.0) -> None:
        self.api_key = api_key
        self.chunk_delay = chunk_delay
        self.requests: list[RecordedRequest] = []
        self.violations: list[str] = []
        self._faults: list[Fault] = []
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._port = 0

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        self._add_routes(app)
        try:
            self._runner = web.AppRunner(
                app, access_log=None, handler_cancellation=True, shutdown_timeout=0.5
            )
        except TypeError:  # aiohttp < 3.10 takes the timeout on the site
            self._runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self._port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()

    async def aclose(self) -> None:
        self._closing.set()
        for fault in self._faults:
            if fault.gate is not None:
                fault.gate.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Any:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>`` (no path)."""
        return f"http://127.0.0.1:{self._port}"

    # -- faults ----------------------------------------------------------------------------

    def fail_next(
        self,
        status: int,
        *,
        retry_after: float | None = None,
        message: str | None = None,
        times: int = 1,
        endpoint: str | None = None,
    ) -> None:
        """Answer the next ``times`` requests with ``status`` (and ``Retry-After`` if given)."""
        for _ in range(times):
            self._faults.append(
                Fault(status=status, retry_after=retry_after, message=message, endpoint=endpoint)
            )

    def disconnect_next(
        self, *, after: int = 1, times: int = 1, endpoint: str | None = None
    ) -> None:
        """Send ``after`` pieces of the next streamed body, then drop the connection."""
        for _ in range(times):
            self._faults.append(Fault(disconnect_after=after, endpoint=endpoint))

    def stall_next(self, *, after: int = 0, times: int = 1, endpoint: str | None = None) -> None:
        """Send ``after`` pieces of the next streamed body, then stay silent until closed."""
        for _ in range(times):
            self._faults.append(Fault(stall_after=after, endpoint=endpoint))

    def hold_next(self, *, after: int = 1, endpoint: str | None = None) -> asyncio.Event:
        """Send ``after`` pieces of the next streamed body, then wait for the returned event."""
        gate = asyncio.Event()
        self._faults.append(Fault(hold_after=after, gate=gate, endpoint=endpoint))
        return gate

    def reset(self) -> None:
        """Forget recorded requests, violations and pending faults."""
        self.requests.clear()
        self.violations.clear()
        self._faults.clear()

    def assert_no_violations(self) -> None:
        assert not self.violations, f"{self.name} fake saw protocol violations: {self.violations}"

    def _take_fault(self, path: str) -> Fault | None:
        for i, fault in enumerate(self._faults):
            if fault.endpoint is None or fault.endpoint in path:
                return self._faults.pop(i)
        return None

    # -- hooks for subclasses --------------------------------------------------------------

    def _add_routes(self, app: web.Application) -> None:
        raise NotImplementedError

    def _auth_error(self, request: web.Request) -> web.Response | None:
        """A 401 response when the credentials are wrong, else None."""
        raise NotImplementedError

    def _error_response(
        self, status: int, message: str, *, headers: dict[str, str] | None = None
    ) -> web.Response:
        """An error in the provider's format."""
        raise NotImplementedError

    # -- helpers ---------------------------------------------------------------------------

    def _route(self, handler: Handler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        """Wrap an endpoint: record, check credentials, apply a status fault, then handle."""

        async def wrapped(request: web.Request) -> web.StreamResponse:
            record = await self._record(request)
            self.requests.append(record)
            denied = self._auth_error(request)
            if denied is not None:
                record.status = denied.status
                return denied
            fault = self._take_fault(request.path)
            if fault is not None and fault.status is not None:
                headers = {}
                if fault.retry_after is not None:
                    headers["Retry-After"] = _format_seconds(fault.retry_after)
                response = self._error_response(
                    fault.status, fault.message or _default_message(fault.status), headers=headers
                )
                record.status = response.status
                return response
            # faults "after 0 pieces" strike before any byte of the answer (and use no script)
            if fault is not None and fault.disconnect_after == 0:
                self._drop(request)
                return web.Response(status=499)  # never reaches the client
            if fault is not None and fault.stall_after == 0:
                await self._closing.wait()
                return web.Response(status=499)
            response = await handler(request, record, fault)
            record.status = response.status
            return response

        return wrapped

    async def _record(self, request: web.Request) -> RecordedRequest:
        record = RecordedRequest(
            method=request.method,
            path=request.path,
            headers=CIMultiDict(request.headers),
            query=dict(request.query),
        )
        ctype = request.content_type
        if ctype.startswith("multipart/"):
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, str):
                    record.form[key] = value
                else:
                    with value.file:
                        data = value.file.read()
                    record.files[key] = UploadedFile(
                        filename=value.filename, content_type=value.content_type, data=data
                    )
        elif request.can_read_body:
            record.body = await request.read()
            if ctype == "application/json" or record.body[:1] in (b"{", b"["):
                try:
                    record.json = json.loads(record.body)
                except ValueError:
                    record.json = None
        return record

    def _violation(self, message: str) -> web.Response:
        """Note a protocol violation and answer it the way the provider would (400)."""
        self.violations.append(message)
        return self._error_response(400, message)

    async def _write_pieces(
        self,
        request: web.Request,
        response: web.StreamResponse,
        pieces: Sequence[bytes],
        fault: Fault | None,
        *,
        on_stream_error: Callable[[str], bytes] | None = None,
    ) -> web.StreamResponse:
        """Send ``pieces`` one by one, applying a disconnect, stall, hold or stream error."""
        if not response.prepared:
            await response.prepare(request)
        for i in range(len(pieces) + 1):
            if fault is not None:
                if fault.hold_after == i and fault.gate is not None:
                    await fault.gate.wait()
                if fault.stream_error is not None and fault.stream_error_after == i:
                    if on_stream_error is not None:
                        await response.write(on_stream_error(fault.stream_error))
                    await response.write_eof()
                    return response
                if fault.disconnect_after == i:
                    self._drop(request)
                    return response
                if fault.stall_after == i:
                    await self._closing.wait()
                    return response
            if i == len(pieces):
                break
            await response.write(pieces[i])
            if self.chunk_delay:
                await asyncio.sleep(self.chunk_delay)
        await response.write_eof()
        return response

    def _drop(self, request: web.Request) -> None:
        """Close the connection abruptly (already-written bytes are flushed first)."""
        if request.transport is not None:
            request.transport.close()


def _format_seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _default_message(status: int) -> str:
    return {
        401: "Invalid authentication credentials",
        403: "You do not have access to this resource",
        404: "Not found",
        408: "Request timed out",
        429: "Rate limit reached, please retry later",
        500: "The server had an error while processing your request",
        502: "Bad gateway",
        503: "The engine is currently overloaded, please try again later",
        529: "Overloaded",
    }.get(status, f"Error {status}")
