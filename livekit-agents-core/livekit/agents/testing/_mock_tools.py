"""``mock_tools``: replace what a tool does in a test, keeping its name and schema."""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..llm import FunctionTool
    from ..voice.agent import Agent
    from ..voice.agent_session import AgentSession

__all__ = ["lookup_mock", "mock_tools"]

_Mocks = dict[tuple[type, str], Callable[..., Any]]
_context_mocks: contextvars.ContextVar[_Mocks | None] = contextvars.ContextVar("lk_mock_tools", default=None)


@contextlib.contextmanager
def mock_tools(
    agent: type[Agent],
    mocks: Mapping[str, Callable[..., Any]],
    *,
    session: AgentSession[Any] | None = None,
) -> Iterator[None]:
    """Within the block, calls to the named tools of ``agent`` (a class) run the mocks instead.

    A mock may be sync or async and may declare any subset of the tool's parameters. With
    ``session=``, the mocks apply to that session until the block ends, in every task.
    """
    from ..voice.agent import Agent as _Agent

    if not (isinstance(agent, type) and issubclass(agent, _Agent)):
        raise TypeError("mock_tools needs an Agent subclass (the class, not an instance)")
    for name, fn in mocks.items():
        if not callable(fn):
            raise TypeError(f"the mock for {name!r} must be callable")
    entries = {(agent, name): fn for name, fn in mocks.items()}
    if session is not None:
        before = dict(session._session_mocks)
        session._session_mocks.update(entries)
        try:
            yield
        finally:
            session._session_mocks = before
        return
    current = dict(_context_mocks.get() or {})
    current.update(entries)
    token = _context_mocks.set(current)
    try:
        yield
    finally:
        _context_mocks.reset(token)


def lookup_mock(session: AgentSession[Any], tool: FunctionTool) -> Callable[..., Any] | None:
    ctx = _context_mocks.get()
    if not ctx and not session._session_mocks:
        return None
    agent = session._agent
    if agent is None:
        return None
    for klass in type(agent).__mro__:
        key = (klass, tool.name)
        if ctx and key in ctx:
            return ctx[key]
        if key in session._session_mocks:
            return session._session_mocks[key]  # type: ignore[no-any-return]
    return None
