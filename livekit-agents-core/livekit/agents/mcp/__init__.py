"""MCP (Model Context Protocol) servers as tools. Needs the ``mcp`` extra for real servers."""

from .server import MCPServer, MCPServerHTTP, MCPServerStdio, MCPToolResultContext
from .toolset import MCPToolset

__all__ = ["MCPServer", "MCPServerHTTP", "MCPServerStdio", "MCPToolResultContext", "MCPToolset"]
