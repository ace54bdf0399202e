"""``MCPToolset``: the tools of an MCP server, usable in ``tools=[...]``."""

from __future__ import annotations

from collections.abc import Callable

from ..llm import FunctionTool, Tool, Toolset
from .server import MCPServer

__all__ = ["MCPToolset"]


class MCPToolset(Toolset):
    """``Agent(tools=[MCPToolset(id="files", mcp_server=MCPServerStdio(...))])``.

    The server is started (and its tools listed) when the agent starts; ``filter`` keeps only
    the tools it returns True for.
    """

    def __init__(
        self,
        *,
        id: str,
        mcp_server: MCPServer,
        filter: Callable[[FunctionTool], bool] | None = None,
    ) -> None:
        super().__init__(id=id)
        self._server = mcp_server
        self._filter = filter
        self._loaded: list[Tool] = []

    @property
    def mcp_server(self) -> MCPServer:
        return self._server

    @property
    def tools(self) -> list[Tool]:
        return list(self._loaded)

    async def setup(self, *, reload: bool = False) -> None:
        if reload:
            self._server.invalidate_cache()
        tools = await self._server.list_tools()
        self._loaded = [t for t in tools if self._filter is None or self._filter(t)]

    async def aclose(self) -> None:
        await self._server.aclose()
