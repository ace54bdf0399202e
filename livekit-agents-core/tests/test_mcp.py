"""MCP servers as tools: the in-process fake, and real servers through the official SDK."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from livekit.agents import Agent, AgentSession
from livekit.agents.testing import FakeLLM, FakeResponse, FakeToolCall

SERVER = '''
import sys
from mcp.server import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

server = MCPServer("calc")

@server.tool()
def multiply(a: int, b: int) -> int:
    """Multiply two integers."""
    return a * b

@server.tool()
def explode() -> str:
    """Always fails."""
    raise ToolError("the calculator is on fire")

@server.tool(name="secret.tool")
def secret() -> str:
    """Not allowed."""
    return "leak"

if __name__ == "__main__":
    if len(sys.argv) > 1:
        server.run(transport="streamable-http", host="127.0.0.1", port=int(sys.argv[1]))
    else:
        server.run()
'''


def call(tool: str, **args: Any) -> FakeResponse:
    return FakeResponse(tool_calls=[FakeToolCall(tool, args)])


async def test_mcp_server_by_name_through_the_registry() -> None:
    llm = FakeLLM([call("add", a=2, b=3), "It is 5."])
    session = AgentSession(llm=llm)
    await session.start(Agent(instructions="x", mcp_servers=["fake"]))
    result = await session.run(user_input="2 + 3?")
    result.expect.next_event().is_function_call(name="add")
    result.expect.next_event().is_function_call_output(output="5")
    schemas = {t.name: t.schema() for t in llm.requests[0]["tools"]}
    assert schemas["add"]["parameters"]["required"] == ["a", "b"]
    server = session.current_agent.mcp_servers[0]
    await session.aclose()
    assert server.calls == [("add", {"a": 2, "b": 3})] and server.closed


@pytest.fixture
def server_script(tmp_path: Path) -> Path:
    pytest.importorskip("mcp")
    path = tmp_path / "calc_server.py"
    path.write_text(SERVER)
    return path


async def test_stdio_server_tools_and_errors(server_script: Path) -> None:
    from livekit.agents.mcp import MCPServerStdio, MCPToolset

    server = MCPServerStdio(sys.executable, [str(server_script)], client_session_timeout_seconds=20,
                            allowed_tools=["multiply", "explode"])
    toolset = MCPToolset(id="calc", mcp_server=server)
    llm = FakeLLM([call("multiply", a=6, b=7), "42.", call("explode"), "Sorry."])
    session = AgentSession(llm=llm)
    await session.start(Agent(instructions="x", tools=[toolset]))
    result = await session.run(user_input="6 times 7")
    result.expect.next_event().is_function_call(name="multiply")
    result.expect.next_event().is_function_call_output(output="42", is_error=False)
    assert sorted(t.name for t in llm.requests[0]["tools"]) == ["explode", "multiply"]  # filtered
    result = await session.run(user_input="break it")
    out = result.expect.next_event(type="function_call_output").is_function_call_output(is_error=True)
    assert "the calculator is on fire" in out.item.output
    await session.aclose()


async def test_unreachable_server_is_reported_and_the_agent_still_runs(tmp_path: Path) -> None:
    pytest.importorskip("mcp")
    from livekit.agents.mcp import MCPServerStdio

    broken = MCPServerStdio(sys.executable, [str(tmp_path / "missing.py")], client_session_timeout_seconds=5)
    llm = FakeLLM(["Hello without tools."])
    session = AgentSession(llm=llm)
    await session.start(Agent(instructions="x", mcp_servers=[broken]))
    result = await session.run(user_input="hi")
    result.expect.next_event().is_message(role="assistant")
    assert llm.requests[0]["tools"] == []
    await session.aclose()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_streamable_http_server(server_script: Path) -> None:
    from livekit.agents.mcp import MCPServerHTTP

    port = _free_port()
    proc = subprocess.Popen([sys.executable, str(server_script), str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                await asyncio.sleep(0.1)
        server = MCPServerHTTP(f"http://127.0.0.1:{port}/mcp", client_session_timeout_seconds=20)
        assert server.transport_type == "streamable_http"
        tools = {t.name: t for t in await server.list_tools()}
        assert set(tools) == {"multiply", "explode", "secret_tool"}  # names made LLM-safe
        assert await tools["multiply"](raw_arguments={"a": 3, "b": 4}) == "12"
        assert await tools["secret_tool"](raw_arguments={}) == "leak"  # called by its real name
        await server.aclose()
    finally:
        proc.terminate()
        proc.wait(10)
