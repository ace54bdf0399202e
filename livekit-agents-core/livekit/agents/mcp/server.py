"""MCP servers as tool providers, on the official ``mcp`` SDK (the ``mcp`` extra).

One persistent client session per server: tools are listed once (until the server says they
changed, or :meth:`MCPServer.invalidate_cache`), and every call reuses the session.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..llm import FunctionTool, ToolError, function_tool
from ..log import logger

__all__ = ["MCPServer", "MCPServerHTTP", "MCPServerStdio", "MCPToolResultContext"]

_BAD_CHARS = re.compile(r"[^a-zA-Z0-9_-]")


def _require_sdk() -> Any:
    try:
        import mcp
    except ImportError as e:
        raise ImportError(
            'MCP servers need the official MCP SDK: pip install "livekit-agents[mcp]"'
        ) from e
    return mcp


@dataclass
class MCPToolResultContext:
    """What a custom ``tool_result_resolver`` receives."""

    tool_name: str
    arguments: dict[str, Any]
    result: Any


def _default_resolver(ctx: MCPToolResultContext) -> str:
    """Text content joined; other content (images, structured data) as JSON."""
    contents = list(getattr(ctx.result, "content", None) or [])
    structured = getattr(ctx.result, "structured_content", None)
    if not contents and structured is not None:
        return json.dumps(structured)
    texts = [c.text for c in contents if getattr(c, "type", "") == "text"]
    if len(texts) == len(contents) and texts:
        return "\n".join(texts)
    if not contents:
        raise ToolError(f"the MCP tool {ctx.tool_name} returned nothing")
    return json.dumps([c.model_dump(mode="json", exclude_none=True) for c in contents])


class MCPServer(ABC):
    """A connection to one MCP server. Subclasses say how to reach it (:meth:`client_streams`)."""

    def __init__(
        self,
        *,
        client_session_timeout_seconds: float = 5.0,
        allowed_tools: Sequence[str] | None = None,
        tool_result_resolver: Callable[[MCPToolResultContext], str] | None = None,
    ) -> None:
        self._timeout = client_session_timeout_seconds
        self._allowed = set(allowed_tools) if allowed_tools is not None else None
        self._resolver = tool_result_resolver or _default_resolver
        self._session: Any = None
        self._task: asyncio.Task[None] | None = None
        self._ready: asyncio.Future[None] | None = None
        self._closing = asyncio.Event()
        self._tools: list[FunctionTool] | None = None

    @abstractmethod
    def client_streams(self) -> contextlib.AbstractAsyncContextManager[Any]:
        """An async context manager yielding the (read, write) streams of a transport."""

    @property
    def initialized(self) -> bool:
        return self._session is not None

    async def initialize(self) -> None:
        """Connect and initialize the MCP session (idempotent)."""
        _require_sdk()
        if self._ready is None:
            self._ready = asyncio.get_running_loop().create_future()
            self._task = asyncio.create_task(self._run(), name=f"mcp:{self!r}")
        await asyncio.shield(self._ready)

    async def _run(self) -> None:
        from mcp import ClientSession

        assert self._ready is not None
        try:
            async with self.client_streams() as streams:
                read, write = streams[0], streams[1]
                async with ClientSession(read, write, read_timeout_seconds=self._timeout,
                                         message_handler=self._on_message) as session:
                    await asyncio.wait_for(session.initialize(), self._timeout * 2)
                    self._session = session
                    if not self._ready.done():
                        self._ready.set_result(None)
                    await self._closing.wait()
        except BaseException as e:
            if not self._ready.done():
                self._ready.set_exception(
                    ConnectionError(f"could not start the MCP server {self!r}: {type(e).__name__}: {e}")
                )
            elif not isinstance(e, asyncio.CancelledError):
                logger.warning("the MCP server %r disconnected: %s", self, e)
            if isinstance(e, asyncio.CancelledError):
                raise
        finally:
            self._session = None

    async def _on_message(self, message: Any) -> None:
        if type(getattr(message, "root", message)).__name__ == "ToolListChangedNotification":
            self.invalidate_cache()

    def invalidate_cache(self) -> None:
        """Forget the tool list: the next :meth:`list_tools` asks the server again."""
        self._tools = None

    async def list_tools(self) -> list[FunctionTool]:
        """The server's tools, as function tools with the server's own JSON schemas."""
        if self._tools is not None:
            return list(self._tools)
        await self.initialize()
        result = await self._session.list_tools()
        tools = []
        seen: set[str] = set()
        for tool in result.tools:
            if self._allowed is not None and tool.name not in self._allowed:
                continue
            name = _BAD_CHARS.sub("_", tool.name)[:64] or "tool"
            if name in seen:
                logger.warning("MCP server %r: skipping duplicate tool name %r", self, tool.name)
                continue
            seen.add(name)
            tools.append(self._make_tool(name, tool))
        self._tools = tools
        return list(tools)

    def _make_tool(self, name: str, tool: Any) -> FunctionTool:
        remote_name = tool.name
        schema = dict(getattr(tool, "input_schema", None) or {"type": "object", "properties": {}})
        schema.setdefault("type", "object")

        async def call(raw_arguments: dict[str, Any]) -> str:
            session = self._session
            if session is None:
                raise ToolError(
                    f"Tool invocation failed: the MCP server for {remote_name} is unavailable"
                )
            try:
                result = await session.call_tool(remote_name, raw_arguments)
            except Exception as e:
                raise ToolError(f"Tool invocation failed: {e}") from e
            if getattr(result, "is_error", False):
                texts = [getattr(c, "text", "") for c in getattr(result, "content", [])]
                raise ToolError("\n".join(t for t in texts if t) or f"{remote_name} failed")
            return self._resolver(MCPToolResultContext(remote_name, raw_arguments, result))

        raw = {"name": name, "description": tool.description or "", "parameters": schema}
        return function_tool(raw_schema=raw)(call)

    async def aclose(self) -> None:
        self._closing.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), 5.0)
            except (asyncio.TimeoutError, Exception):
                self._task.cancel()
                await asyncio.gather(self._task, return_exceptions=True)
        self._task = None
        self._ready = None
        self._closing = asyncio.Event()


class MCPServerStdio(MCPServer):
    """An MCP server started as a subprocess, spoken to over stdin/stdout."""

    def __init__(
        self,
        command: str,
        args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
        client_session_timeout_seconds: float = 5.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(client_session_timeout_seconds=client_session_timeout_seconds, **kwargs)
        self.command = command
        self.args = list(args)
        self.env = dict(env) if env is not None else None
        self.cwd = cwd

    @contextlib.asynccontextmanager
    async def client_streams(self) -> AsyncIterator[Any]:
        from mcp import StdioServerParameters
        from mcp.client.stdio import stdio_client

        params = StdioServerParameters(command=self.command, args=self.args, env=self.env, cwd=self.cwd)
        async with stdio_client(params) as streams:
            yield streams

    def __repr__(self) -> str:
        return f"MCPServerStdio({' '.join([self.command, *self.args])!r})"


class MCPServerHTTP(MCPServer):
    """An MCP server over HTTP: streamable HTTP (URL path ending in ``/mcp``) or SSE.

    ``transport_type`` forces one; ``headers`` are sent with every request (e.g. auth).
    """

    def __init__(
        self,
        url: str,
        transport_type: str | None = None,
        allowed_tools: Sequence[str] | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float = 5.0,
        sse_read_timeout: float = 300.0,
        client_session_timeout_seconds: float = 5.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(client_session_timeout_seconds=client_session_timeout_seconds,
                         allowed_tools=allowed_tools, **kwargs)
        if transport_type not in (None, "sse", "streamable_http"):
            raise ValueError("transport_type must be 'sse', 'streamable_http' or None (auto)")
        self.url = url
        self.transport_type = transport_type or (
            "streamable_http" if url.rstrip("/").endswith("/mcp") else "sse"
        )
        self.headers = dict(headers or {})
        self.timeout = timeout
        self.sse_read_timeout = sse_read_timeout

    @contextlib.asynccontextmanager
    async def client_streams(self) -> AsyncIterator[Any]:
        if self.transport_type == "sse":
            from mcp.client.sse import sse_client

            async with sse_client(self.url, headers=self.headers, timeout=self.timeout,
                                  sse_read_timeout=self.sse_read_timeout) as streams:
                yield streams
            return
        import httpx2
        from mcp.client.streamable_http import streamable_http_client
        from mcp.shared._httpx_utils import create_mcp_http_client

        client = create_mcp_http_client(
            headers=self.headers, timeout=httpx2.Timeout(self.timeout, read=self.sse_read_timeout)
        )
        async with client, streamable_http_client(self.url, http_client=client) as streams:
            yield streams

    def __repr__(self) -> str:
        return f"MCPServerHTTP({self.url!r})"
