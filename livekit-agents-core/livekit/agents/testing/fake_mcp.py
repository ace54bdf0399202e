"""An in-process MCP server for tests (no SDK, no subprocess): tools from plain functions."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

from ..llm import FunctionTool, function_tool
from ..mcp.server import MCPServer

__all__ = ["FakeMCPServer"]


def _echo(raw_arguments: dict[str, Any]) -> str:
    return str(raw_arguments.get("text", ""))


def _add(raw_arguments: dict[str, Any]) -> str:
    return str(raw_arguments.get("a", 0) + raw_arguments.get("b", 0))


_DEFAULT_TOOLS: dict[str, tuple[str, dict[str, Any], Callable[[dict[str, Any]], str]]] = {
    "echo": ("Repeat the text.", {"type": "object", "properties": {"text": {"type": "string"}},
                                  "required": ["text"]}, _echo),
    "add": ("Add two numbers.", {"type": "object", "properties": {"a": {"type": "number"},
                                                                   "b": {"type": "number"}},
                                 "required": ["a", "b"]}, _add),
}


class FakeMCPServer(MCPServer):
    """Serves ``echo`` and ``add`` (or the given tools) as if from an MCP server."""

    def __init__(self, tools: dict[str, tuple[str, dict[str, Any], Callable[[dict[str, Any]], str]]] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._spec = dict(tools or _DEFAULT_TOOLS)
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.started = False
        self.closed = False

    def client_streams(self) -> contextlib.AbstractAsyncContextManager[Any]:
        @contextlib.asynccontextmanager
        async def none() -> AsyncIterator[Any]:
            yield ()

        return none()

    @property
    def initialized(self) -> bool:
        return self.started

    async def initialize(self) -> None:
        self.started = True

    async def list_tools(self) -> list[FunctionTool]:
        await self.initialize()
        tools = []
        for name, (description, schema, fn) in self._spec.items():
            if self._allowed is not None and name not in self._allowed:
                continue

            def make(name: str, fn: Callable[[dict[str, Any]], str]) -> Callable[..., Any]:
                async def call(raw_arguments: dict[str, Any]) -> str:
                    self.calls.append((name, raw_arguments))
                    return fn(raw_arguments)

                return call

            tools.append(function_tool(raw_schema={"name": name, "description": description,
                                                   "parameters": schema})(make(name, fn)))
        return tools

    async def aclose(self) -> None:
        self.closed = True
